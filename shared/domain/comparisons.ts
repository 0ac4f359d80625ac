/**
 * Comparisons shared by trait conditions and event property filters: the
 * operators, the validation of their operands, and their compilation into
 * closures. Pure: no I/O.
 */
import isSafeRegex from 'safe-regex2';
import { z } from 'zod';
import { assertUnreachable } from './assert-unreachable';
import { DAY_MS } from './time';

export const COMPARISON_OPERATORS = [
  'eq',
  'neq',
  'lt',
  'lte',
  'gt',
  'gte',
  'between',
  'in',
  'not_in',
  'contains',
  'starts_with',
  'regex',
  'exists',
  'not_exists',
  'date_before',
  'date_after',
] as const;
export type ComparisonOperator = (typeof COMPARISON_OPERATORS)[number];
export const COUNT_OPERATORS = ['gte', 'gt', 'eq', 'lte', 'lt'] as const;
export type CountOperator = (typeof COUNT_OPERATORS)[number];
export const DATE_OPERATORS = ['date_before', 'date_after'] as const;
export type DateOperator = (typeof DATE_OPERATORS)[number];

/** An absolute ISO-8601 instant, or one relative to the evaluation time ("30 days ago"). */
export type DateValue = string | { daysAgo: number };

const scalar = z.union([z.string(), z.number(), z.boolean()]);
export const isoInstant = z.string().refine((v) => !Number.isNaN(Date.parse(v)), { message: 'must be an ISO-8601 date' });
export const dateValueSchema = z.union([isoInstant, z.strictObject({ daysAgo: z.number().min(0).max(36_500) })]);

const MAX_REGEX_LENGTH = 200;

/** Why a value does not fit an operator, or undefined when it does. */
export function valueProblem(operator: ComparisonOperator, value: unknown): string | undefined {
  const isScalar = scalar.safeParse(value).success;
  switch (operator) {
    case 'exists':
    case 'not_exists':
      return value === undefined ? undefined : `must be absent for ${operator}`;
    case 'in':
    case 'not_in':
      return Array.isArray(value) && value.length <= 1000 && value.every((v) => scalar.safeParse(v).success)
        ? undefined
        : `must be a list (at most 1000) of strings, numbers or booleans for ${operator}`;
    case 'between': {
      const pair = Array.isArray(value) && value.length === 2 ? value : undefined;
      const numbers = pair?.every((v) => typeof v === 'number');
      const dates = pair?.every((v) => typeof v === 'string' && !Number.isNaN(Date.parse(v)));
      return numbers || dates ? undefined : 'must be [low, high]: two numbers or two ISO-8601 dates';
    }
    case 'date_before':
    case 'date_after':
      return dateValueSchema.safeParse(value).success ? undefined : `must be an ISO-8601 date or { "daysAgo": n } for ${operator}`;
    case 'regex':
      if (typeof value !== 'string' || value.length > MAX_REGEX_LENGTH)
        return `must be a pattern of at most ${MAX_REGEX_LENGTH} characters`;
      try {
        new RegExp(value, 'iu');
      } catch (error) {
        return `is not a valid pattern: ${(error as Error).message}`;
      }
      // Patterns that can backtrack exponentially would let one segment stall the processor.
      return isSafeRegex(value) ? undefined : 'could take exponential time (nested quantifiers); simplify it';
    case 'contains':
    case 'starts_with':
      return typeof value === 'string' || typeof value === 'number' ? undefined : `must be a string for ${operator}`;
    case 'eq':
    case 'neq':
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      return isScalar ? undefined : `must be a string, number or boolean for ${operator}`;
    default:
      return assertUnreachable(operator);
  }
}

/** A compiled comparison of one value (a trait, an event property) against the operator's operand. */
export type Comparison = (actual: unknown, now: number) => boolean;

/**
 * Compiles `operator value` once; `value` must already be valid for the operator (see `valueProblem`).
 * Text compares without regard to case unless `caseSensitive`: "VIP" and "vip" are the same tier to a
 * marketer, but not to a SKU or a coupon code.
 */
export function compileComparison(operator: ComparisonOperator, value: unknown, caseSensitive = false): Comparison {
  const fold = caseSensitive ? (text: string) => text : (text: string) => text.toLowerCase();
  const same = (actual: unknown, expected: unknown) => sameValue(actual, expected, fold);
  const key = (v: unknown): unknown => (typeof v === 'string' ? fold(v) : v);
  const compare = (actual: unknown, expected: unknown, test: (a: number | string, b: number | string) => boolean): boolean => {
    if (typeof actual === 'number' && typeof expected === 'number') return test(actual, expected);
    if (typeof actual === 'string' && typeof expected === 'string') return test(actual, expected);
    if (typeof actual === 'string' && typeof expected === 'number' && actual.trim() !== '' && !Number.isNaN(Number(actual))) {
      return test(Number(actual), expected);
    }
    return false;
  };
  switch (operator) {
    case 'eq':
      return (a) => same(a, value);
    case 'neq':
      return (a) => a !== undefined && !same(a, value);
    case 'lt':
      return (a) => compare(a, value, (x, y) => x < y);
    case 'lte':
      return (a) => compare(a, value, (x, y) => x <= y);
    case 'gt':
      return (a) => compare(a, value, (x, y) => x > y);
    case 'gte':
      return (a) => compare(a, value, (x, y) => x >= y);
    case 'between': {
      const [low, high] = value as [number, number] | [string, string];
      if (typeof low === 'string') {
        const [from, to] = [Date.parse(low), Date.parse(high as string)];
        return (a) => {
          const at = timeOf(a);
          return at !== undefined && at >= from && at <= to;
        };
      }
      return (a) => compare(a, low, (x, y) => x >= y) && compare(a, high, (x, y) => x <= y);
    }
    case 'in': {
      const set = new Set((value as unknown[]).map(key));
      return (a) => set.has(key(a));
    }
    case 'not_in': {
      const set = new Set((value as unknown[]).map(key));
      return (a) => a !== undefined && !set.has(key(a));
    }
    case 'contains': {
      const needle = fold(String(value));
      return (a) => {
        if (Array.isArray(a)) return a.some((item) => same(item, value));
        return typeof a === 'string' && fold(a).includes(needle);
      };
    }
    case 'starts_with': {
      const prefix = fold(String(value));
      return (a) => typeof a === 'string' && fold(a).startsWith(prefix);
    }
    case 'regex': {
      const pattern = new RegExp(value as string, caseSensitive ? 'u' : 'iu');
      return (a) => typeof a === 'string' && pattern.test(a);
    }
    case 'exists':
      return (a) => a !== undefined && a !== null;
    case 'not_exists':
      return (a) => a === undefined || a === null;
    case 'date_before':
    case 'date_after': {
      const threshold = dateThreshold(value as DateValue);
      return (a, now) => {
        const at = timeOf(a);
        if (at === undefined) return false;
        return operator === 'date_before' ? at < threshold(now) : at > threshold(now);
      };
    }
    default:
      return assertUnreachable(operator);
  }
}

/** Milliseconds of an ISO-8601 string or an epoch-milliseconds number; undefined for anything else. */
export function timeOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export function dateThreshold(value: DateValue): (now: number) => number {
  if (typeof value === 'string') {
    const at = Date.parse(value);
    return () => at;
  }
  const offset = value.daysAgo * DAY_MS;
  return (now) => now - offset;
}

/** Equal values, strings compared after `fold` (lower case unless case-sensitive). */
function sameValue(actual: unknown, expected: unknown, fold: (text: string) => string): boolean {
  if (actual === expected) return true;
  if (typeof actual !== 'string' || typeof expected !== 'string') return false;
  return fold(actual) === fold(expected);
}
