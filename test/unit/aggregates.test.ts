import { describe, expect, it } from 'vitest';
import { aggregateSpec, compileSpec, emptyWindow, readValues, specKey, VALUE_STRIDE } from '#shared/domain/aggregates';
import { explain } from '#shared/domain/explain';
import { foldEvents } from '#shared/domain/fold';
import { compileRules } from '#shared/domain/memberships';
import { newProfile, type Profile } from '#shared/domain/profile';
import { compile } from '#shared/domain/segment-compiler';
import { type Condition, conditionSchema, type Segment } from '#shared/domain/segment-definition';
import { DAY_MS } from '#shared/domain/time';
import { anEvent } from '../helpers/events';

const now = Date.parse('2026-03-15T12:00:00.000Z');
const daysAgo = (days: number) => new Date(now - days * DAY_MS).toISOString();

const segmentOf = (id: string, condition: Condition): Segment => ({
  id,
  name: id,
  condition,
  revision: 1,
  languageVersion: 1,
  status: 'ready',
  createdAt: daysAgo(400),
  updatedAt: daysAgo(400),
});

// Seed 004: "active customers who viewed product pages in the last 7 days, abandoned their cart, and have
// an average order value above 50 €".
const activeCartAbandoners: Condition = {
  type: 'and',
  conditions: [
    { type: 'event', event: 'Page Viewed', where: [{ property: 'category', operator: 'eq', value: 'product' }], within: { days: 7 } },
    { type: 'event', event: 'Product Added', within: { days: 7 } },
    { type: 'event', event: 'Order Completed', count: { operator: 'lt', value: 1 }, within: { days: 7 } },
    { type: 'event', event: 'Order Completed', aggregate: { fn: 'avg', property: 'revenue', operator: 'gt', value: 50 } },
  ],
};

function fold(events: Parameters<typeof anEvent>[0][], conditions: Condition[]): Profile {
  const catalog = compileRules(conditions.map((c, i) => segmentOf(`s${i}`, c)));
  return foldEvents(
    newProfile('p1', daysAgo(300)),
    events.map((e) => anEvent(e)),
    [],
    now,
    catalog.specs,
  ).profile;
}

describe('filtered and valued aggregates', () => {
  it('identify a spec by its definition, whatever the order of its filters', () => {
    const a = aggregateSpec(
      'Order Completed',
      [
        { property: 'a', operator: 'eq', value: 1 },
        { property: 'b', operator: 'exists' },
      ],
      'revenue',
    );
    const b = aggregateSpec(
      'Order Completed',
      [
        { property: 'b', operator: 'exists' },
        { property: 'a', operator: 'eq', value: 1 },
      ],
      'revenue',
    );
    expect(a.id).toBe(b.id);
    expect(aggregateSpec('Order Completed', [], 'revenue').id).not.toBe(a.id);
  });

  it('fold only qualifying events, with count, sum, min and max per day', () => {
    const spec = compileSpec(
      aggregateSpec('Order Completed', [{ property: 'product.category', operator: 'in', value: ['shoes', 'bags'] }], 'revenue'),
    );
    const profile = foldEvents(
      newProfile('p1', daysAgo(10)),
      [
        anEvent({ properties: { revenue: 80, product: { category: 'Shoes' } }, at: daysAgo(1) }),
        anEvent({ properties: { revenue: '20', product: { category: 'bags' } }, at: daysAgo(1) }),
        anEvent({ properties: { revenue: 999, product: { category: 'hats' } }, at: daysAgo(1) }),
        anEvent({ properties: { product: { category: 'shoes' } }, at: daysAgo(2) }), // no revenue: not folded
        anEvent({ properties: { revenue: 40, product: { category: 'shoes' } }, at: daysAgo(3) }),
      ],
      [],
      now,
      [spec],
    ).profile;
    const buckets = profile.aggregates[specKey(spec, 'web')]!;
    expect(buckets.length).toBe(2 * VALUE_STRIDE);
    expect(readValues(buckets, -Infinity, emptyWindow())).toEqual({ count: 3, sum: 140, min: 20, max: 80 });
    expect(readValues(buckets, Math.floor(now / DAY_MS) - 1, emptyWindow())).toEqual({ count: 2, sum: 100, min: 20, max: 80 });
  });

  it('express seed 004: product views in 7 days, a cart but no order since, and an average order above 50', () => {
    const abandoner = fold(
      [
        { type: 'page', event: undefined, properties: { category: 'product' }, at: daysAgo(2) },
        { event: 'Product Added', at: daysAgo(1) },
        { event: 'Order Completed', properties: { revenue: 90 }, at: daysAgo(30) },
        { event: 'Order Completed', properties: { revenue: 30 }, at: daysAgo(60) },
      ],
      [activeCartAbandoners],
    );
    expect(compile(activeCartAbandoners)(abandoner, now, new Set())).toBe(true);

    const smallBaskets = fold(
      [
        { type: 'page', event: undefined, properties: { category: 'product' }, at: daysAgo(2) },
        { event: 'Product Added', at: daysAgo(1) },
        { event: 'Order Completed', properties: { revenue: 40 }, at: daysAgo(30) },
      ],
      [activeCartAbandoners],
    );
    expect(compile(activeCartAbandoners)(smallBaskets, now, new Set())).toBe(false);

    const homePageOnly = fold(
      [
        { type: 'page', event: undefined, properties: { category: 'home' }, at: daysAgo(2) },
        { event: 'Product Added', at: daysAgo(1) },
        { event: 'Order Completed', properties: { revenue: 90 }, at: daysAgo(30) },
      ],
      [activeCartAbandoners],
    );
    const why = explain(activeCartAbandoners, homePageOnly, now, new Set());
    expect(why.held).toBe(false);
    expect(why.parts![0]).toEqual({
      condition: 'Page Viewed, where category eq "product", count gte 1 in the last 7 days',
      held: false,
      seen: { count: 0 },
    });
    expect(why.parts![3]).toEqual({ condition: 'Order Completed, avg of revenue gt 50 ever', held: true, seen: { count: 1, avg: 90 } });
  });

  it('treat avg, min and max of no occurrence as failing any comparison', () => {
    const condition: Condition = {
      type: 'event',
      event: 'Order Completed',
      aggregate: { fn: 'max', property: 'revenue', operator: 'lt', value: 100 },
    };
    expect(compile(condition)(fold([], [condition]), now, new Set())).toBe(false);
    const sum: Condition = {
      type: 'event',
      event: 'Order Completed',
      aggregate: { fn: 'sum', property: 'revenue', operator: 'lt', value: 100 },
    };
    expect(compile(sum)(fold([], [sum]), now, new Set())).toBe(true);
  });

  it('validate filters with the path of each problem', () => {
    const result = conditionSchema.safeParse({
      type: 'event',
      event: 'X',
      where: [{ property: 'p', operator: 'in', value: 'a' }],
      aggregate: { fn: 'median', property: 'v', operator: 'gt', value: 1 },
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['where.0.value', 'aggregate.fn']));
  });
});
