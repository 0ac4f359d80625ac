/** The parts of the segment language the builder offers in lists (kept equal to the API's by a unit test). */
export const CHANNELS = ['web', 'app', 'email', 'store', 'call_center', 'event', 'crm'] as const;
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
export const COUNT_OPERATORS = ['gte', 'gt', 'eq', 'lte', 'lt'] as const;
export const AGGREGATE_FUNCTIONS = ['sum', 'avg', 'min', 'max'] as const;

export const OPERATOR_LABELS: Record<string, string> = {
  eq: 'is',
  neq: 'is not',
  lt: '<',
  lte: '≤',
  gt: '>',
  gte: '≥',
  between: 'between',
  in: 'is one of',
  not_in: 'is none of',
  contains: 'contains',
  starts_with: 'starts with',
  regex: 'matches',
  exists: 'is set',
  not_exists: 'is not set',
  date_before: 'is before',
  date_after: 'is after',
};

/** A value typed in a field: JSON when it reads as JSON (numbers, true, lists), text otherwise; lists for in / not_in. */
export function parseValue(text: string, operator: string): unknown {
  const trimmed = text.trim();
  if (operator === 'in' || operator === 'not_in') {
    if (trimmed.startsWith('[')) return tryJson(trimmed);
    return trimmed
      .split(',')
      .map((part) => tryJson(part.trim()))
      .filter((part) => part !== '');
  }
  if ((operator === 'date_before' || operator === 'date_after') && /^\d+$/.test(trimmed)) return { daysAgo: Number(trimmed) };
  return tryJson(trimmed);
}

const tryJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

export function showValue(value: unknown, operator: string): string {
  if (value === undefined) return '';
  if ((operator === 'in' || operator === 'not_in') && Array.isArray(value))
    return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');
  if (value && typeof value === 'object' && 'daysAgo' in value) return String((value as { daysAgo: number }).daysAgo);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export const takesNoValue = (operator: string) => operator === 'exists' || operator === 'not_exists';
