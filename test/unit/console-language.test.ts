import { describe, expect, it } from 'vitest';
import { COMPARISON_OPERATORS, COUNT_OPERATORS } from '#shared/domain/comparisons';
import { CHANNELS } from '#shared/domain/events';
import { checklistOf } from '../../console/src/explain-words';
import * as console from '../../console/src/language';

describe("the console builder's lists", () => {
  it('offer exactly the channels and operators the API accepts', () => {
    expect(console.CHANNELS).toEqual(CHANNELS);
    expect(console.COMPARISON_OPERATORS).toEqual(COMPARISON_OPERATORS);
    expect(console.COUNT_OPERATORS).toEqual(COUNT_OPERATORS);
  });

  it('reads typed values as JSON when they are, lists for in, days ago for dates', () => {
    expect(console.parseValue('42', 'gt')).toBe(42);
    expect(console.parseValue('vip', 'eq')).toBe('vip');
    expect(console.parseValue('gold, silver, 3', 'in')).toEqual(['gold', 'silver', 3]);
    expect(console.parseValue('30', 'date_before')).toEqual({ daysAgo: 30 });
    expect(console.showValue(['gold', 'silver'], 'in')).toBe('gold, silver');
    expect(console.showValue({ daysAgo: 30 }, 'date_after')).toBe('30');
  });
});

describe('what a name never seen probably meant', () => {
  const seen = ['Order Completed', 'Page Viewed', 'Product Added', 'Email Opened'];

  it('is the seen name it starts, contains, or is a typo or two from, ignoring case', () => {
    expect(console.closestName('Order Comp', seen)).toBe('Order Completed');
    expect(console.closestName('order completed', seen)).toBe('Order Completed');
    expect(console.closestName('Opened', seen)).toBe('Email Opened');
    expect(console.closestName('Prodcut Added', seen)).toBe('Product Added');
    expect(console.closestName('Ordr Completd', seen)).toBe('Order Completed');
  });

  it('is nothing when the name was seen, or when nothing is close', () => {
    expect(console.closestName('Order Completed', seen)).toBeUndefined();
    expect(console.closestName('Refund Issued', seen)).toBeUndefined();
    expect(console.closestName('  ', seen)).toBeUndefined();
    expect(console.closestName('x', [])).toBeUndefined();
  });

  it("writes days as the browser's locale does", () => {
    expect(console.shortDate('2026-11-12T10:00:00Z', 'en-GB')).toBe('12 Nov 2026');
    expect(console.shortDate('2026-11-12T10:00:00Z', 'en-US')).toBe('Nov 12, 2026');
  });
});

describe('an explanation as a checklist in words', () => {
  it('says each part and what was found, as a marketer reads it', () => {
    const condition = {
      type: 'and',
      conditions: [
        { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' },
        { type: 'event', event: 'Order Completed', channel: 'store', count: { operator: 'gte', value: 2 }, within: { days: 183 } },
        { type: 'not', condition: { type: 'segment', segment: 'churned' } },
        { type: 'indicator', indicator: 'rfm_label', operator: 'eq', value: 'champions' },
      ],
    };
    const explanation = {
      condition: 'all of',
      held: false,
      parts: [
        { condition: 'trait tier eq "vip"', held: true, seen: 'VIP' },
        { condition: 'Order Completed on store, count gte 2 in the last 183 days', held: true, seen: { count: 3 } },
        { condition: 'not', held: true, parts: [{ condition: 'in segment churned', held: false, seen: { member: false } }] },
        { condition: 'indicator rfm_label eq "champions"', held: false, seen: { rfm_label: null } },
      ],
    };
    const list = checklistOf(condition, explanation);
    const lines = (item: typeof list, depth = 0): string[] => [
      `${'  '.repeat(depth)}${item.held ? '✓' : '✗'} ${item.words}: ${item.found}`,
      ...item.parts.flatMap((part) => lines(part, depth + 1)),
    ];
    expect(lines(list)).toEqual([
      '✗ All of these: no',
      '  ✓ Trait tier is “vip”: yes: “VIP”',
      '  ✓ Order Completed in store at least 2 times in the last 183 days: yes, 3 times',
      '  ✓ None of this: yes',
      '    ✗ In the segment churned: no: not in it',
      '  ✗ rfm label is “champions”: no: no value yet',
    ]);
  });
});

describe('indicators in words', () => {
  it('names an indicator and its channel as a person would', () => {
    expect(console.indicatorLabel('average_order_value')).toBe('Average order value');
    expect(console.indicatorLabel('orders|store')).toBe('Orders (store)');
    expect(console.indicatorLabel('rfm_label')).toBe('RFM label');
    expect(console.indicatorLabel('p_alive')).toBe('Probability alive');
    expect(console.indicatorLabel('expected_orders_30d')).toBe('Expected orders 30 days');
    expect(console.indicatorLabel('predicted_clv_12m')).toBe('Predicted CLV 12 months');
  });

  it("says a cluster's description rather than its number, when the last freeze described it", () => {
    const clusters = [{ id: 2, share: 0.314, description: 'frequent store buyers' }];
    expect(console.clusterWords(2, clusters)).toBe('frequent store buyers (cluster 2, 31 % of people)');
    expect(console.clusterWords(3, clusters)).toBeUndefined();
    expect(console.clusterWords(2, undefined)).toBeUndefined();
  });
});

describe('a run walking the archive', () => {
  it('says the day it has reached while it runs, and nothing once it ended', () => {
    expect(console.atDay({ status: 'running', progress: { day: '2026-11-03' } })).toBe(', now reading 2026-11-03');
    expect(console.atDay({ status: 'succeeded', progress: { day: '2026-11-23' } })).toBe('');
    expect(console.atDay({ status: 'running' })).toBe('');
  });
});
