import { describe, expect, it } from 'vitest';
import type { EnrichedEvent } from '#shared/domain/events';
import { foldEvents } from '#shared/domain/fold';
import { DEFAULT_INDICATOR_SETTINGS, definitionSchemas, type IndicatorDefinition } from '#shared/domain/indicator-settings';
import { compileIndicators, presentIndicators } from '#shared/domain/indicators';
import { compileRules, evaluateMemberships } from '#shared/domain/memberships';
import { newProfile } from '#shared/domain/profile';
import { conditionSchema, type Segment } from '#shared/domain/segment-definition';
import { stageSegments } from '#shared/domain/stages';
import { DAY_MS } from '#shared/domain/time';
import { anEvent } from '../helpers/events';

const now = Date.parse('2026-06-15T12:00:00.000Z');
const daysAgo = (days: number) => new Date(now - days * DAY_MS).toISOString();
const model = compileIndicators();
const catalog = compileRules([], model);

/** The profile these events fold into, and its indicator values now. */
function valuesAfter(events: EnrichedEvent[], indicators = model) {
  const specs = compileRules([], indicators).specs;
  const { profile } = foldEvents(newProfile('p1', events[0]?.timestamp ?? daysAgo(0)), events, [], now, specs);
  return indicators.valuesOf(profile, now);
}
const order = (days: number, revenue: number | undefined, channel: EnrichedEvent['channel'] = 'web') =>
  anEvent({ event: 'Order Completed', channel, at: daysAgo(days), properties: revenue === undefined ? {} : { revenue } });

describe('dynamic indicators', () => {
  it('count orders and revenue per channel, with the average order value of the orders that carried one', () => {
    const values = valuesAfter([order(3, 120, 'store'), order(10, 80, 'store'), order(1, 50, 'web'), order(2, undefined, 'web')]);
    expect(values).toMatchObject({
      orders: 4,
      revenue: 250,
      average_order_value: 83.33,
      'orders|store': 2,
      'revenue|store': 200,
      'average_order_value|store': 100,
      'orders|web': 2,
      'average_order_value|web': 50,
      last_purchase: daysAgo(1),
    });
  });

  it('score engagement with seed 004 weights, each signal fading with its own half-life', () => {
    const fresh = valuesAfter([anEvent({ event: 'Email Opened', at: daysAgo(0) }), anEvent({ event: 'Order Completed', at: daysAgo(0) })]);
    // Occurrences are dated to the middle of their day: at noon today's count in full.
    expect(fresh.engagement_score).toBe(60);
    const old = valuesAfter([
      anEvent({ event: 'Product Viewed', at: daysAgo(30) }),
      anEvent({ event: 'Webinar Attended', at: daysAgo(30) }),
    ]);
    // A product view a month ago has all but faded (3-day half-life); the webinar still weighs (120 days).
    expect(old.engagement_score).toBeCloseTo(5 * 0.5 ** (30 / 3) + 40 * 0.5 ** (30 / 120), 0);
    expect(valuesAfter([anEvent({ event: 'Unknown Thing', at: daysAgo(0) })]).engagement_score).toBe(0);
  });

  it('apply a changed weight at once, from what the profile already holds', () => {
    const events = [anEvent({ event: 'Email Opened', at: daysAgo(0) })];
    const doubled: IndicatorDefinition = {
      id: 'engagement',
      revision: 1,
      settings: { signals: { 'Email Opened': { points: 20, halfLifeDays: 14 } } },
      updatedAt: daysAgo(0),
    };
    expect(valuesAfter(events, compileIndicators([doubled])).engagement_score).toBeCloseTo(
      2 * (valuesAfter(events).engagement_score as number),
      1,
    );
  });

  it('say which channels a person prefers, recent interactions weighing more', () => {
    expect(valuesAfter([anEvent({ channel: 'store', event: 'Showroom Visited', at: daysAgo(2) })]).channel_affinity).toBe('offline');
    expect(valuesAfter([anEvent({ channel: 'web', event: 'Page Viewed', at: daysAgo(2) })]).channel_affinity).toBe('online');
    const mixed = valuesAfter([anEvent({ channel: 'web', at: daysAgo(1) }), anEvent({ channel: 'store', at: daysAgo(1) })]);
    expect(mixed).toMatchObject({ channel_affinity: 'omnichannel', online_share: 0.5 });
    // Store visits a year ago, the web this week: mostly online now.
    const drifted = valuesAfter([
      ...[360, 350, 340].map((d) => anEvent({ channel: 'store', at: daysAgo(d) })),
      anEvent({ channel: 'web', at: daysAgo(2) }),
    ]);
    expect(drifted.online_share as number).toBeGreaterThan(0.8);
    expect(valuesAfter([]).channel_affinity).toBe('unknown');
  });

  it('put converging intent signals from several sources in high immediate intent, and let old ones lapse', () => {
    const pricing = anEvent({ type: 'page', event: undefined, name: 'Pricing', properties: { name: 'Pricing' }, at: daysAgo(2) });
    const brochure = anEvent({ event: 'Brochure Requested', channel: 'event', at: daysAgo(5) });
    const reviews = anEvent({ event: 'Reviews Read', at: daysAgo(1) });
    expect(valuesAfter([pricing, brochure, reviews])).toMatchObject({
      intent_signals: 3,
      intent_stage: 'high',
      lifecycle_stage: 'hot_prospect',
    });
    expect(valuesAfter([pricing, reviews])).toMatchObject({ intent_stage: 'consideration', lifecycle_stage: 'warm_prospect' });
    expect(valuesAfter([reviews]).intent_stage).toBe('exploration');
    // A home page view is not the pricing page; a brochure 40 days ago is outside the 30-day window.
    const home = anEvent({ type: 'page', event: undefined, properties: { name: 'Home' }, at: daysAgo(1) });
    expect(valuesAfter([home, anEvent({ event: 'Brochure Requested', at: daysAgo(40) })])).toMatchObject({
      intent_signals: 0,
      intent_stage: 'none',
    });
  });

  it('place people in the lifecycle: cold, warm and hot prospects, customers, then at risk', () => {
    expect(valuesAfter([anEvent({ type: 'page', event: undefined, at: daysAgo(1) })]).lifecycle_stage).toBe('cold_prospect');
    const engaged = [1, 2, 3].map((d) => anEvent({ event: 'Email Link Clicked', at: daysAgo(d) }));
    expect(valuesAfter(engaged).lifecycle_stage).toBe('warm_prospect');
    expect(valuesAfter([order(10, 40)]).lifecycle_stage).toBe('customer');
    expect(valuesAfter([order(91, 40)]).lifecycle_stage).toBe('at_risk');
  });

  it('count days since the last significant interaction, online or offline, not page views', () => {
    const values = valuesAfter([
      anEvent({ event: 'Showroom Visited', channel: 'store', at: daysAgo(12) }),
      anEvent({ type: 'page', event: undefined, at: daysAgo(1) }),
    ]);
    expect(values.days_since_significant_interaction).toBe(12);
    expect(values.last_seen).toBe(daysAgo(1));
  });

  it('show only what is known, and per-channel figures for channels with orders', () => {
    const shown = presentIndicators(valuesAfter([order(3, 120, 'store')]));
    expect(shown).toMatchObject({ orders: 1, 'orders|store': 1, 'revenue|store': 120 });
    expect(Object.keys(shown).filter((k) => k.includes('|web'))).toEqual([]);
    expect(shown).not.toHaveProperty('average_order_value|web');
  });
});

describe('indicator definitions', () => {
  it('are validated, with the offending field named', () => {
    const bad = definitionSchemas.intent.safeParse({
      ...DEFAULT_INDICATOR_SETTINGS.intent,
      stages: { high: 1, consideration: 2, exploration: 3 },
    });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['stages']);
    expect(definitionSchemas.engagement.safeParse({ signals: { 'Email Opened': { points: 10, halfLifeDays: 0 } } }).success).toBe(false);
    for (const [id, schema] of Object.entries(definitionSchemas)) {
      expect(schema.safeParse(DEFAULT_INDICATOR_SETTINGS[id as keyof typeof DEFAULT_INDICATOR_SETTINGS]).success, id).toBe(true);
    }
  });
});

describe('indicator conditions in segments', () => {
  it('are checked: known indicator, channel only for per-channel figures, stage values from the list', () => {
    const problems = (condition: unknown) => {
      const result = conditionSchema.safeParse(condition);
      return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(problems({ type: 'indicator', indicator: 'revenue', channel: 'store', operator: 'gte', value: 100 })).toEqual([]);
    expect(problems({ type: 'indicator', indicator: 'happiness', operator: 'gte', value: 1 })[0]).toMatch(
      /^indicator: must be one of last_seen/,
    );
    expect(problems({ type: 'indicator', indicator: 'engagement_score', channel: 'web', operator: 'gte', value: 1 })).toEqual([
      'channel: engagement_score is not a per-channel figure',
    ]);
    expect(problems({ type: 'indicator', indicator: 'lifecycle_stage', operator: 'in', value: ['customer', 'vip'] })[0]).toMatch(
      /^value: lifecycle_stage is one of cold_prospect/,
    );
  });

  it('compare indicators, and stage changes are transitions of the managed stage segments', () => {
    const bigSpenders: Segment = {
      id: 'big-store-spenders',
      name: 'Big store spenders',
      condition: { type: 'indicator', indicator: 'revenue', channel: 'store', operator: 'gte', value: 150 },
      revision: 1,
      languageVersion: 1,
      status: 'ready',
      createdAt: '',
      updatedAt: '',
    };
    const withStages = compileRules([bigSpenders, ...stageSegments(model)], model);
    const profile = foldEvents(
      newProfile('p1', daysAgo(3)),
      [order(3, 120, 'store'), order(2, 60, 'store')],
      [],
      now,
      withStages.specs,
    ).profile;
    const { segments, transitions } = evaluateMemberships(
      profile,
      withStages.segments,
      now,
      undefined,
      'events',
      model.valuesOf(profile, now),
    );
    expect(segments).toEqual(['big-store-spenders', 'lifecycle-customer']);
    expect(transitions.map((t) => [t.segmentId, t.change])).toEqual(expect.arrayContaining([['lifecycle-customer', 'entered']]));

    // Four months on without an order: the customer is at risk, a transition like any other.
    const later = now + 120 * DAY_MS;
    const moved = evaluateMemberships(
      { ...profile, segments },
      withStages.segments,
      later,
      undefined,
      'time',
      model.valuesOf(profile, later),
    );
    expect(moved.transitions.map((t) => [t.segmentId, t.change, t.reason])).toEqual(
      expect.arrayContaining([
        ['lifecycle-customer', 'exited', 'time'],
        ['lifecycle-at-risk', 'entered', 'time'],
      ]),
    );
    expect(catalog.specs.length).toBe(model.specs.length);
  });
});
