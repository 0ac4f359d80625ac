/**
 * An explanation (`GET .../explain`) as a checklist a marketer reads: each part of the condition in
 * words, and what Prisme found in the profile, in words ("Order Completed in store at least 2 times in
 * the last 183 days: yes, 3 times"). The explanation follows the condition's shape, part for part.
 */
import { OPERATOR_LABELS, shortDate } from './language';

// biome-ignore lint/suspicious/noExplicitAny: conditions of any type, as the server's schema takes them
type Condition = { type: string; [field: string]: any };

export interface Explanation {
  condition: string;
  held: boolean;
  seen?: unknown;
  parts?: Explanation[];
}

export interface ChecklistItem {
  held: boolean;
  words: string;
  found: string;
  parts: ChecklistItem[];
}

const COUNT_WORDS: Record<string, string> = { gte: 'at least', gt: 'more than', eq: 'exactly', lte: 'at most', lt: 'fewer than' };

const valueWords = (value: unknown): string =>
  Array.isArray(value)
    ? value.map(valueWords).join(', ')
    : typeof value === 'string'
      ? `“${value}”`
      : value !== null && typeof value === 'object' && 'daysAgo' in value
        ? `${(value as { daysAgo: number }).daysAgo} days ago`
        : String(value);

const comparison = (operator: string, value: unknown) =>
  `${OPERATOR_LABELS[operator] ?? operator.replaceAll('_', ' ')}${value === undefined ? '' : ` ${valueWords(value)}`}`;

const times = (n: number) => `${n} time${n === 1 ? '' : 's'}`;

const nameWords = (name: string) => name.replaceAll('|', ' on ').replaceAll('_', ' ');

function windowWords(c: Condition): string {
  if (c.between) return ` from ${c.between.from} to ${c.between.to}`;
  if (!c.within) return ' ever';
  const [unit, amount] = (['days', 'hours', 'minutes'] as const).map((u) => [u, c.within[u]] as const).find(([, v]) => v !== undefined) ?? [
    'days',
    0,
  ];
  return c.within.calendar ? ` in the last ${amount} calendar days` : ` in the last ${amount} ${amount === 1 ? unit.slice(0, -1) : unit}`;
}

function eventWords(c: Condition): string {
  const channels = c.channel === undefined ? '' : ` in ${[c.channel].flat().join(' or ')}`;
  const where = c.where?.length
    ? ` where ${c.where.map((f: Condition) => `${f.property} ${comparison(f.operator, f.value)}`).join(' and ')}`
    : '';
  const count = c.count ?? (c.aggregate ? undefined : { operator: 'gte', value: 1 });
  const often = count ? ` ${COUNT_WORDS[count.operator] ?? count.operator} ${times(count.value)}` : '';
  const figure = c.aggregate ? `, ${c.aggregate.fn} of ${c.aggregate.property} ${comparison(c.aggregate.operator, c.aggregate.value)}` : '';
  return `${c.event ?? 'Any event'}${channels}${where}${often}${windowWords(c)}${figure}`;
}

/** The part in words; parts this does not know keep the server's own words. */
function wordsOf(c: Condition, e: Explanation): string {
  switch (c.type) {
    case 'and':
      return 'All of these';
    case 'or':
      return 'Any of these';
    case 'not':
      return 'None of this';
    case 'event':
      return eventWords(c);
    case 'trait':
      return `Trait ${c.trait} ${comparison(c.operator, c.value)}`;
    case 'group':
      return `A company (group) whose ${c.trait} ${comparison(c.operator, c.value)}`;
    case 'indicator':
      return `${nameWords(c.indicator)}${c.channel ? ` on ${c.channel}` : ''} ${comparison(c.operator, c.value)}`;
    case 'segment':
      return `${c.member === false ? 'Not in' : 'In'} the segment ${c.segment}`;
    default:
      return e.condition;
  }
}

/** What was found, in words: "yes, 3 times", "no: not set". */
function foundOf(c: Condition, e: Explanation): string {
  const answer = e.held ? 'yes' : 'no';
  const seen = (e.seen ?? {}) as Record<string, unknown>;
  switch (c.type) {
    case 'and':
    case 'or':
    case 'not':
      return answer;
    case 'event': {
      const figure = c.aggregate && seen[c.aggregate.fn] != null ? `, ${c.aggregate.fn} ${String(seen[c.aggregate.fn])}` : '';
      return `${answer}, ${times(Number(seen.count ?? 0))}${figure}`;
    }
    case 'trait':
      return e.seen === null || e.seen === undefined ? `${answer}: not set` : `${answer}: ${valueWords(e.seen)}`;
    case 'indicator': {
      const value = Object.values(seen)[0];
      return value === null || value === undefined ? `${answer}: no value yet` : `${answer}: ${valueWords(value)}`;
    }
    case 'segment':
      return `${answer}: ${seen.member ? 'in it' : 'not in it'}`;
    case 'performed_date': {
      const at = Object.values(seen)[0];
      return typeof at === 'string' ? `${answer}: on ${shortDate(at)}` : `${answer}: never`;
    }
    default:
      return answer;
  }
}

export function checklistOf(condition: Condition, explanation: Explanation): ChecklistItem {
  const children: Condition[] = condition.type === 'not' ? [condition.condition] : (condition.conditions ?? []);
  return {
    held: explanation.held,
    words: wordsOf(condition, explanation),
    found: foundOf(condition, explanation),
    parts: (explanation.parts ?? []).map((part, i) => (children[i] ? checklistOf(children[i]!, part) : checklistOf({ type: '?' }, part))),
  };
}
