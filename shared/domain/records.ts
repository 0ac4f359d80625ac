/**
 * Records keyed by names a client chose (event names, trait names, categories, identifier types).
 * On an ordinary object `record['__proto__'] = v` replaces its prototype, `record['constructor']`
 * reads Object's function when absent, and `(record['__proto__'] ??= {}).x = 1` writes onto
 * Object.prototype itself. Records without a prototype keep such names as plain keys. Pure.
 */

/** An empty record with no prototype: every key, `__proto__` included, is an own property. */
export const emptyRecord = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

/** A record without a prototype holding these entries (later ones win). */
export function recordFrom<T>(entries: Iterable<readonly [string, T]>): Record<string, T> {
  const record = emptyRecord<T>();
  for (const [key, value] of entries) record[key] = value;
  return record;
}

/** Whether `key` is the record's own (not one its prototype lends, like `constructor`). */
export const hasKey = (record: object, key: string): boolean => Object.hasOwn(record, key);

/** The record's own value at `key`, whatever its prototype. */
export const own = <T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined =>
  record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;

/**
 * A deep copy of JSON-like data (what a profile is) in which every object has no prototype, for data
 * read from JSON (JSON.parse makes ordinary objects, with an own `__proto__` key when one was sent).
 */
export function withoutPrototypes<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutPrototypes) as T;
  if (typeof value !== 'object' || value === null) return value;
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return value; // a Set, a Uint8Array: not a record
  const copy = emptyRecord<unknown>();
  for (const key of Object.keys(value)) copy[key] = withoutPrototypes((value as Record<string, unknown>)[key]);
  return copy as T;
}
