/**
 * Segment history counters added up in memory and written once per processor invocation: one update
 * per segment and day (and per migration) instead of one per profile write, which made the counters
 * the catalog table's largest write bill. A flush that fails keeps its counts for the next one.
 */
import type { DailyChanges, Migration, StatsStore } from '../ports/catalog';

type Counters = Pick<StatsStore, 'countTransitions' | 'countMigrations'>;

export class CounterBuffer implements Counters {
  private daily = new Map<string, DailyChanges>();
  private moves = new Map<string, Migration>();

  constructor(private readonly target: Counters) {}

  async countTransitions(changes: readonly DailyChanges[]): Promise<void> {
    for (const c of changes) {
      const key = `${c.segmentId}\u0000${c.day}`;
      const sum = this.daily.get(key) ?? { segmentId: c.segmentId, day: c.day, entered: 0, exited: 0 };
      sum.entered += c.entered;
      sum.exited += c.exited;
      this.daily.set(key, sum);
    }
  }

  async countMigrations(migrations: readonly Migration[]): Promise<void> {
    for (const m of migrations) {
      const key = `${m.day}\u0000${m.from}\u0000${m.to}`;
      const sum = this.moves.get(key) ?? { ...m, profiles: 0 };
      sum.profiles += m.profiles;
      this.moves.set(key, sum);
    }
  }

  async flush(): Promise<void> {
    const [daily, moves] = [[...this.daily.values()], [...this.moves.values()]];
    this.daily = new Map();
    this.moves = new Map();
    try {
      if (daily.length > 0) await this.target.countTransitions(daily);
      if (moves.length > 0) await this.target.countMigrations(moves);
    } catch (error) {
      // ADD is not idempotent: a partly applied flush may count some twice on retry; counters are approximate.
      await this.countTransitions(daily);
      await this.countMigrations(moves);
      throw error;
    }
  }
}
