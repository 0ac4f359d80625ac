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

/**
 * What was probably meant by a name nothing was seen under: the seen name it starts, contains, or is
 * within a typo or two of, ignoring case; undefined when nothing is close.
 */
export function closestName(typed: string, seen: readonly string[]): string | undefined {
  const wanted = typed.trim().toLowerCase();
  if (wanted === '' || seen.some((name) => name === typed.trim())) return undefined;
  const lower = seen.map((name) => [name, name.toLowerCase()] as const);
  const found =
    lower.find(([, name]) => name === wanted) ??
    lower.find(([, name]) => name.startsWith(wanted)) ??
    lower.find(([, name]) => name.includes(wanted)) ??
    lower
      .map(([name, low]) => [name, editDistance(wanted, low)] as const)
      .filter(([, distance]) => distance <= Math.max(1, Math.floor(wanted.length / 5)))
      .sort((a, b) => a[1] - b[1])[0];
  return found?.[0];
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}

/** A day as the browser's locale writes it (12 Nov 2026 in en-GB, 12/11/2026 in fr-FR). */
export const shortDate = (iso: string, locale?: string): string =>
  new Date(iso).toLocaleDateString(locale, { day: 'numeric', month: 'short', year: 'numeric' });

/** An indicator's key in words: `average_order_value` "Average order value", `orders|store` "Orders (store)". */
export function indicatorLabel(key: string): string {
  const [id = key, channel] = key.split('|');
  const words = id
    .replace(/^p_alive$/, 'probability_alive')
    .replaceAll('_', ' ')
    .replace(/\b(rfm|clv)\b/, (initials) => initials.toUpperCase())
    .replace(/\b(\d+)d\b/, '$1 days')
    .replace(/\b(\d+)m\b/, '$1 months');
  return `${words.charAt(0).toUpperCase()}${words.slice(1)}${channel ? ` (${channel})` : ''}`;
}

/** A cluster's number as the last freeze described it ("2: frequent store buyers, 31 % of people"), or the number alone. */
export function clusterWords(
  value: unknown,
  clusters: ReadonlyArray<{ id: number; share: number; description: string }> | undefined,
): string | undefined {
  const cluster = clusters?.find((c) => c.id === value);
  return cluster ? `${cluster.description} (cluster ${cluster.id}, ${Math.round(cluster.share * 100)} % of people)` : undefined;
}

/** While a replay or backfill walks the archive, the day it has reached (", now reading 2026-11-03"); nothing once it ended. */
export const atDay = (run: { status: string; progress?: Record<string, unknown> }): string =>
  run.status === 'running' && typeof run.progress?.day === 'string' ? `, now reading ${run.progress.day}` : '';
