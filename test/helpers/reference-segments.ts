/**
 * A plain reading of the segment language over raw events, for tests to compare Prisme's memberships
 * with: no buckets, no kept occurrences, no compiler, every window to the millisecond. It covers the
 * conditions of the documented examples and refuses the rest, so a test cannot pass by not reading.
 */

export interface RawEvent {
  type: 'track' | 'page';
  /** A track's name. */
  event?: string;
  /** A page's name (its behaviour is "Page Viewed", with the name among its properties). */
  name?: string;
  channel: string;
  properties: Record<string, unknown>;
  /** Epoch milliseconds. */
  timestamp: number;
}

export interface Person {
  userId: string;
  traits: Record<string, unknown>;
  events: RawEvent[];
}

const DAY = 86_400_000;
type Condition = Record<string, any>;

/** The user ids of the people the condition holds for at `now`. */
export function referenceMembers(condition: unknown, people: readonly Person[], now: number): string[] {
  return people.filter((person) => holds(condition as Condition, person, now)).map((p) => p.userId);
}

function holds(condition: Condition, person: Person, now: number): boolean {
  switch (condition.type) {
    case 'and':
      return (condition.conditions as Condition[]).every((c) => holds(c, person, now));
    case 'or':
      return (condition.conditions as Condition[]).some((c) => holds(c, person, now));
    case 'not':
      return !holds(condition.condition, person, now);
    case 'trait':
      return compare(person.traits[condition.trait], condition.operator, condition.value, condition.caseSensitive === true);
    case 'event':
      return eventHolds(condition, person, now);
    case 'performed_date':
      return performedDateHolds(condition, person, now);
    case 'sequence':
      return sequenceHolds(condition, person, now);
    case 'stopped': {
      const matching = occurrences(condition, person);
      return matching.some((t) => inLast(t, condition.before.days, now)) && !matching.some((t) => inLast(t, condition.recent.days, now));
    }
    case 'restarted': {
      const matching = occurrences(condition, person);
      const recentStart = now - condition.recent.days * DAY;
      const gapStart = recentStart - condition.gap.days * DAY;
      return (
        matching.some((t) => t > recentStart && t <= now) &&
        !matching.some((t) => t > gapStart && t <= recentStart) &&
        matching.some((t) => t <= gapStart)
      );
    }
    default:
      throw new Error(`the reference does not read ${JSON.stringify(condition.type)} conditions`);
  }
}

/** "In the last N days": the last N x 24 hours, the start excluded. */
const inLast = (t: number, days: number, now: number) => t > now - days * DAY && t <= now;
const utcDay = (t: number) => Math.floor(t / DAY);

/** The behaviour name Segment's spec gives a call. */
const behaviourOf = (e: RawEvent) => (e.type === 'page' ? 'Page Viewed' : e.event!);
const propertiesOf = (e: RawEvent) =>
  e.type === 'page' && e.name !== undefined && e.properties.name === undefined ? { ...e.properties, name: e.name } : e.properties;

/** The events of a person matching a condition's event name, channel and filters. */
function matchingEvents(condition: Condition, person: Person): RawEvent[] {
  const anyEvent = condition.event === undefined || condition.event === '*';
  const channels = condition.channel === undefined ? undefined : [condition.channel].flat();
  return person.events.filter(
    (e) =>
      (anyEvent || behaviourOf(e) === condition.event) &&
      (channels === undefined || channels.includes(e.channel)) &&
      ((condition.where ?? []) as Condition[]).every((f) =>
        compare(propertiesOf(e)[f.property], f.operator, f.value, f.caseSensitive === true),
      ),
  );
}

const occurrences = (condition: Condition, person: Person): number[] => matchingEvents(condition, person).map((e) => e.timestamp);

function inWindow(condition: Condition, t: number, now: number): boolean {
  const { within, between } = condition;
  if (between) return utcDay(t) >= utcDay(Date.parse(between.from)) && utcDay(t) <= utcDay(Date.parse(between.to));
  if (!within) return true;
  if (within.calendar) return utcDay(t) >= utcDay(now) - within.days + 1 && t <= now;
  const span = (within.days ?? 0) * DAY + (within.hours ?? 0) * 3_600_000 + (within.minutes ?? 0) * 60_000;
  return t > now - span && t <= now;
}

function eventHolds(condition: Condition, person: Person, now: number): boolean {
  const inside = matchingEvents(condition, person).filter((e) => inWindow(condition, e.timestamp, now));
  const count = condition.count ?? (condition.aggregate ? undefined : { operator: 'gte', value: 1 });
  if (count && !compare(inside.length, count.operator, count.value, false)) return false;
  if (!condition.aggregate) return true;
  const { fn, property, operator, value } = condition.aggregate;
  const values = inside.map((e) => propertiesOf(e)[property]).filter((v): v is number => typeof v === 'number');
  const figure =
    fn === 'sum'
      ? values.reduce((a, b) => a + b, 0)
      : values.length === 0
        ? undefined
        : fn === 'avg'
          ? values.reduce((a, b) => a + b, 0) / values.length
          : fn === 'min'
            ? Math.min(...values)
            : Math.max(...values);
  return figure !== undefined && compare(figure, operator, value, false);
}

function performedDateHolds(condition: Condition, person: Person, now: number): boolean {
  const times = occurrences(condition, person);
  if (times.length === 0) return false;
  const at = condition.which === 'first' ? Math.min(...times) : Math.max(...times);
  const threshold = typeof condition.value === 'string' ? Date.parse(condition.value) : now - condition.value.daysAgo * DAY;
  return condition.operator === 'date_before' ? at < threshold : at > threshold;
}

/** Every chain of steps, each at the previous one's instant or later and within the gap of it. */
function sequenceHolds(condition: Condition, person: Person, now: number): boolean {
  const { minutes = 0, hours = 0, days = 0 } = condition.within;
  const gap = minutes * 60_000 + hours * 3_600_000 + days * DAY;
  const since =
    condition.since === undefined
      ? -Infinity
      : typeof condition.since === 'string'
        ? Date.parse(condition.since)
        : now - condition.since.daysAgo * DAY;
  const steps = (condition.steps as Condition[]).map((step) => occurrences(step, person));
  const from = (index: number, previous: number): boolean =>
    index === steps.length || steps[index]!.some((t) => t >= previous && t <= previous + gap && from(index + 1, t));
  return steps[0]!.some((t) => t >= since && from(1, t));
}

function compare(actual: unknown, operator: string, expected: unknown, caseSensitive: boolean): boolean {
  const fold = (v: unknown) => (typeof v === 'string' && !caseSensitive ? v.toLowerCase() : v);
  switch (operator) {
    case 'eq':
      return fold(actual) === fold(expected);
    case 'neq':
      return actual !== undefined && fold(actual) !== fold(expected);
    case 'in':
      return (expected as unknown[]).map(fold).includes(fold(actual));
    case 'exists':
      return actual !== undefined && actual !== null;
    case 'not_exists':
      return actual === undefined || actual === null;
    case 'gt':
      return typeof actual === 'number' && actual > (expected as number);
    case 'gte':
      return typeof actual === 'number' && actual >= (expected as number);
    case 'lt':
      return typeof actual === 'number' && actual < (expected as number);
    case 'lte':
      return typeof actual === 'number' && actual <= (expected as number);
    default:
      throw new Error(`the reference does not compare with ${operator}`);
  }
}
