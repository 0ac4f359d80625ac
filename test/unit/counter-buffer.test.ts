import { describe, expect, it } from 'vitest';
import type { DailyChanges, Migration } from '#shared/ports/catalog';
import { CounterBuffer } from '#shared/usecases/counter-buffer';

describe('CounterBuffer', () => {
  it("adds up a batch of profiles' changes into one update per segment and day, written on flush", async () => {
    const written: { daily: DailyChanges[][]; moves: Migration[][] } = { daily: [], moves: [] };
    const buffer = new CounterBuffer({
      countTransitions: async (c) => void written.daily.push([...c]),
      countMigrations: async (m) => void written.moves.push([...m]),
    });
    await buffer.countTransitions([{ segmentId: 'a', day: '2026-11-24', entered: 1, exited: 0 }]);
    await buffer.countTransitions([
      { segmentId: 'a', day: '2026-11-24', entered: 2, exited: 1 },
      { segmentId: 'b', day: '2026-11-24', entered: 0, exited: 1 },
    ]);
    await buffer.countMigrations([
      { day: '2026-11-24', from: 'b', to: 'a', profiles: 1 },
      { day: '2026-11-24', from: 'b', to: 'a', profiles: 1 },
    ]);
    expect(written.daily).toEqual([]);
    await buffer.flush();
    expect(written.daily).toEqual([
      [
        { segmentId: 'a', day: '2026-11-24', entered: 3, exited: 1 },
        { segmentId: 'b', day: '2026-11-24', entered: 0, exited: 1 },
      ],
    ]);
    expect(written.moves).toEqual([[{ day: '2026-11-24', from: 'b', to: 'a', profiles: 2 }]]);
    await buffer.flush(); // nothing left: no write
    expect(written.daily).toHaveLength(1);
  });

  it('keeps the counts of a failed flush for the next one', async () => {
    let fail = true;
    const written: DailyChanges[] = [];
    const buffer = new CounterBuffer({
      countTransitions: async (c) => {
        if (fail) throw new Error('throttled');
        written.push(...c);
      },
      countMigrations: async () => undefined,
    });
    await buffer.countTransitions([{ segmentId: 'a', day: '2026-11-24', entered: 1, exited: 0 }]);
    await expect(buffer.flush()).rejects.toThrow('throttled');
    await buffer.countTransitions([{ segmentId: 'a', day: '2026-11-24', entered: 1, exited: 0 }]);
    fail = false;
    await buffer.flush();
    expect(written).toEqual([{ segmentId: 'a', day: '2026-11-24', entered: 2, exited: 0 }]);
  });
});
