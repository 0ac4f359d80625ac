import { describe, expect, it } from 'vitest';
import { COMPARISON_OPERATORS, COUNT_OPERATORS } from '#shared/domain/comparisons';
import { CHANNELS } from '#shared/domain/events';
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
