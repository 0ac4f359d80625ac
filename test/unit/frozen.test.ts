import { describe, expect, it } from 'vitest';
import { interestsAt } from '#shared/domain/categories';
import { silhouette } from '#shared/domain/clustering';
import type { EnrichedEvent } from '#shared/domain/events';
import { foldEvents } from '#shared/domain/fold';
import {
  churnRisk,
  favouriteCategory,
  featuresOf,
  fitModel,
  Measure,
  type ProfileFeatures,
  rfmLabel,
  scoreProfile,
  seededRandom,
} from '#shared/domain/frozen';
import { compileIndicators } from '#shared/domain/indicators';
import { compileRules } from '#shared/domain/memberships';
import { newProfile, type Profile } from '#shared/domain/profile';
import { DAY_MS } from '#shared/domain/time';
import { anEvent } from '../helpers/events';

const now = Date.parse('2026-06-15T12:00:00.000Z');
const daysAgo = (days: number) => new Date(now - days * DAY_MS).toISOString();
const model = compileIndicators();
const specs = compileRules([], model).specs;
const profileOf = (id: string, events: EnrichedEvent[]): Profile =>
  foldEvents(newProfile(id, daysAgo(400)), events, [], now, specs).profile;

/** A store buyer or an email reader, with some noise, for a population with two obvious groups. */
function person(i: number, random: () => number): Profile {
  const events: EnrichedEvent[] = [];
  const storeBuyer = i % 2 === 0;
  const n = 3 + Math.floor(random() * 4);
  for (let k = 0; k < n; k++) {
    const at = daysAgo(1 + Math.floor(random() * 200));
    events.push(
      storeBuyer
        ? anEvent({ event: 'Order Completed', channel: 'store', at, properties: { revenue: 50 + Math.round(random() * 100) } })
        : anEvent({ event: 'Email Link Clicked', channel: 'email', at }),
    );
  }
  return profileOf(`p${i}`, events);
}

describe('features', () => {
  it('count significant interactions online and offline, revenue plus weighted potential value', () => {
    const features = featuresOf(
      profileOf('p', [
        anEvent({ event: 'Order Completed', channel: 'store', at: daysAgo(10), properties: { revenue: 100 } }),
        anEvent({ event: 'Showroom Visited', channel: 'store', at: daysAgo(5) }),
        anEvent({ event: 'Quote Requested', channel: 'call_center', at: daysAgo(3), properties: { amount: 1000 } }),
        anEvent({ type: 'page', event: undefined, at: daysAgo(1) }),
        anEvent({ event: 'Order Completed', at: daysAgo(390), properties: { revenue: 500 } }),
      ]),
      now,
      model,
    )!;
    // The page view yesterday is not significant: the quote, 3 days ago, is.
    expect(features).toMatchObject({ recencyDays: 3, frequency: 3, monetary: 100 + 0.3 * 1000, orders: 1 });
    expect(featuresOf(profileOf('q', [anEvent({ type: 'page', event: undefined, at: daysAgo(1) })]), now, model)).toBeUndefined();
  });
});

describe('measures', () => {
  it('merge to the same figures as one pass over everyone', () => {
    const random = seededRandom('merge');
    const people = Array.from({ length: 400 }, (_, i) => featuresOf(person(i, random), now, model)!);
    const whole = new Measure(200, seededRandom('a'));
    const parts = [new Measure(200, seededRandom('b')), new Measure(200, seededRandom('c')), new Measure(200, seededRandom('d'))];
    people.forEach((f, i) => {
      whole.add(f);
      parts[i % 3]!.add(f);
    });
    const merged = parts.reduce((into, part) => {
      into.merge(Measure.fromJSON(part.toJSON(), 200, seededRandom('e')));
      return into;
    });
    expect(merged.profiles).toBe(400);
    expect(merged.sample).toHaveLength(200);
    for (let i = 0; i < whole.mean.length; i++) {
      expect(merged.mean[i]).toBeCloseTo(whole.mean[i]!, 9);
      expect(merged.m2[i]).toBeCloseTo(whole.m2[i]!, 6);
    }
    for (const q of [0.2, 0.5, 0.8]) {
      // Within the sketch's 1 % relative accuracy of the exact quantile.
      const exact = people.map((f) => f.monetary).sort((a, b) => a - b)[Math.floor(q * 399)]!;
      expect(Math.abs(merged.monetary.getValueAtQuantile(q) - exact)).toBeLessThanOrEqual(0.03 * Math.max(exact, 1));
    }
  });
});

describe('scores', () => {
  it('give quintiles from the population and the usual labels', () => {
    const random = seededRandom('rfm');
    const measure = new Measure(1000, random);
    const people = Array.from({ length: 500 }, (_, i) => featuresOf(person(i, random), now, model)!);
    for (const f of people) measure.add(f);
    const freeze = fitModel(measure, model, random);
    const scores = people.map((f) => scoreProfile(f, freeze, model));
    const counts = [1, 2, 3, 4, 5].map((s) => scores.filter((x) => x.rfm_recency_score === s).length);
    expect(
      counts.every((c) => c >= 60 && c <= 140),
      `recency: ${counts}`,
    ).toBe(true);
    // Half the people never spent: they share the lowest monetary quintile; the buyers spread over the top three.
    expect(new Set(scores.filter((_, i) => i % 2 === 1).map((x) => x.rfm_monetary_score))).toEqual(new Set([1]));
    expect(new Set(scores.filter((_, i) => i % 2 === 0).map((x) => x.rfm_monetary_score))).toEqual(new Set([3, 4, 5]));
    // Frequencies are small whole numbers here (3 to 6): ties share a quintile, none is skipped.
    const frequencies = new Set(scores.map((x) => x.rfm_frequency_score));
    expect(frequencies.size).toBeGreaterThanOrEqual(3);
    expect(rfmLabel(5, 5)).toBe('champions');
    expect(rfmLabel(5, 1)).toBe('new_customers');
    expect(rfmLabel(1, 5)).toBe('cannot_lose_them');
    expect(rfmLabel(2, 3)).toBe('at_risk');
    expect(rfmLabel(1, 2)).toBe('hibernating');
    expect(rfmLabel(1, 1)).toBe('lost');
  });

  it('find the two behaviours of the population, described in words', () => {
    const random = seededRandom('clusters');
    const measure = new Measure(1000, random);
    const profiles = Array.from({ length: 600 }, (_, i) => person(i, random));
    for (const p of profiles) measure.add(featuresOf(p, now, model)!);
    const freeze = fitModel(measure, model, random);
    expect(freeze.clusters).toMatchObject({ k: 2 });
    expect(freeze.clusters!.silhouette).toBeGreaterThan(0.5);
    const descriptions = freeze.clusters!.clusters.map((c) => c.description).join(' | ');
    expect(descriptions).toMatch(/frequent store buyers/);
    expect(descriptions).toMatch(/email readers/);
    // Every store buyer lands in one cluster, every email reader in the other.
    const clusterOf = profiles.map((p) => scoreProfile(featuresOf(p, now, model)!, freeze, model).cluster);
    expect(new Set(clusterOf.filter((_, i) => i % 2 === 0)).size).toBe(1);
    expect(new Set(clusterOf.filter((_, i) => i % 2 === 1)).size).toBe(1);
    expect(clusterOf[0]).not.toBe(clusterOf[1]);
  });

  it('measure churn risk by how unusual the silence is for this customer', () => {
    const settings = model.settings.churn;
    const regular = (days: number): ProfileFeatures => ({
      recencyDays: days,
      frequency: 10,
      monetary: 500,
      orders: 10,
      orderSpanDays: 270,
      daysSinceLastOrder: days,
      vector: [],
      categories: [],
    });
    // Ten orders a month apart: a month of silence is normal, six months is not.
    expect(churnRisk(regular(0), 1 / 60, settings)).toBeCloseTo(0.2, 3);
    expect(churnRisk(regular(30), 1 / 60, settings)!).toBeLessThan(0.6);
    expect(churnRisk(regular(180), 1 / 60, settings)!).toBeGreaterThan(0.95);
    expect(churnRisk(regular(60), 1 / 60, settings)!).toBeGreaterThan(churnRisk(regular(30), 1 / 60, settings)!);
    expect(churnRisk({ ...regular(0), orders: 0, daysSinceLastOrder: undefined }, 1 / 60, settings)).toBeUndefined();
  });

  it('silhouette is 1 for far, tight clusters and near 0 for noise', () => {
    expect(
      silhouette(
        [
          [0, 0],
          [0, 0.1],
          [10, 10],
          [10, 10.1],
        ],
        [0, 0, 1, 1],
      ),
    ).toBeGreaterThan(0.98);
    const random = seededRandom('noise');
    const noise = Array.from({ length: 100 }, () => [random(), random()]);
    expect(
      Math.abs(
        silhouette(
          noise,
          noise.map((_, i) => i % 2),
        ),
      ),
    ).toBeLessThan(0.1);
  });
});

describe('appetite for categories', () => {
  const rule = model.settings.categories;
  it('weighs views, carts and orders, fades with time, and ends the same whatever the order of arrival', () => {
    const events = [
      anEvent({ event: 'Product Viewed', at: daysAgo(1), properties: { category: 'Shoes' } }),
      anEvent({ event: 'Order Completed', at: daysAgo(200), properties: { category: 'coats', revenue: 90 } }),
      anEvent({ event: 'Product Added', at: daysAgo(2), properties: { category: 'shoes' } }),
      anEvent({ event: 'Email Opened', at: daysAgo(1), properties: { category: 'hats' } }),
    ];
    const fold = (list: EnrichedEvent[]) => foldEvents(newProfile('p', daysAgo(300)), list, [], now, specs, rule).profile;
    const profile = fold(events);
    expect(profile.categories).toEqual(fold([...events].reverse()).categories);
    const interests = interestsAt(profile, now, rule.halfLifeDays);
    expect(interests.map(([name]) => name)).toEqual(['shoes', 'coats']); // an email open is not interest
    expect(interests[0]![1]).toBeCloseTo(1 * 0.5 ** (1 / 90) + 3 * 0.5 ** (2 / 90), 2);
    expect(interests[1]![1]).toBeCloseTo(5 * 0.5 ** (200 / 90), 2);
    expect(model.valuesOf(profile, now).top_category).toBe('shoes');
  });

  it('keeps the strongest few categories', () => {
    const events = Array.from({ length: rule.maxPerProfile + 3 }, (_, i) =>
      anEvent({ event: 'Product Viewed', at: daysAgo(30 - i), properties: { category: `c${i}` } }),
    );
    const { profile } = foldEvents(newProfile('p', daysAgo(40)), events, [], now, specs, rule);
    expect(Object.keys(profile.categories!).sort()).toEqual(
      events
        .slice(3)
        .map((e) => String(e.properties.category))
        .sort(),
    );
  });

  it('finds the category a person leans to compared with everyone, not merely the most popular', () => {
    const population = { shoes: 0.6, bags: 0.3, hats: 0.1 };
    expect(
      favouriteCategory(
        [
          ['shoes', 6],
          ['hats', 4],
        ],
        population,
      ),
    ).toEqual({ category: 'hats', lift: 4 });
    expect(
      favouriteCategory(
        [
          ['shoes', 6],
          ['bags', 3],
          ['hats', 1],
        ],
        population,
      ),
    ).toBeUndefined(); // just like everyone
    // Hats are under a fifth of their interest; shoes, 95 % of it against 60 % for everyone, are a lean.
    expect(
      favouriteCategory(
        [
          ['shoes', 9.5],
          ['hats', 0.5],
        ],
        population,
      ),
    ).toEqual({ category: 'shoes', lift: 1.58 });
  });
});
