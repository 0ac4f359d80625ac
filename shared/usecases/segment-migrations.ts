/** Who moved from which segment to which over a period: the migration matrix, largest flows first. */

import { DAY_MS } from '../domain/time';
import { InvalidInputError } from '../errors';
import type { StatsStore } from '../ports/catalog';

/** The longest period a matrix sums: the daily records are kept about as long. */
const MAX_PERIOD_DAYS = 400;
/** The period without `from`: the 30 days up to `to`. */
const DEFAULT_PERIOD_DAYS = 30;

export async function segmentMigrations(
  period: { from?: string; to?: string },
  deps: { catalog: Pick<StatsStore, 'migrations'>; now: () => number },
) {
  const to = period.to ?? new Date(deps.now()).toISOString().slice(0, 10);
  const from = period.from ?? new Date(Date.parse(`${to}T00:00:00Z`) - (DEFAULT_PERIOD_DAYS - 1) * DAY_MS).toISOString().slice(0, 10);
  if (from > to)
    throw new InvalidInputError('from and to are days (YYYY-MM-DD), from not after to', [{ path: 'from', message: 'invalid period' }]);
  if (Date.parse(to) - Date.parse(from) > MAX_PERIOD_DAYS * DAY_MS)
    throw new InvalidInputError(`a period spans at most ${MAX_PERIOD_DAYS} days`, [{ path: 'from', message: 'period too long' }]);
  // Pairs by segment ids, which are the catalog's own (a-z, 0-9, _ and -): '>' cannot occur in them.
  const totals = new Map<string, { from: string; to: string; profiles: number }>();
  for (const m of await deps.catalog.migrations(from, to)) {
    const pair = `${m.from}>${m.to}`;
    const total = totals.get(pair) ?? { from: m.from, to: m.to, profiles: 0 };
    total.profiles += m.profiles;
    totals.set(pair, total);
  }
  return { from, to, migrations: [...totals.values()].sort((a, b) => b.profiles - a.profiles) };
}
