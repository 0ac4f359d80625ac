import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DUE_SHARDS, dueKey, dueKeysAt, MINUTE_MS, parseMinute } from '#shared/domain/due-index';

const at = (iso: string) => Date.parse(iso);
const minutePart = (key: string) => key.split('#')[0]!;

describe('due index keys', () => {
  it('files an instant under the minute it rounds up to, so the sweep of that minute has nextCheckAt <= now', () => {
    expect(minutePart(dueKey(at('2026-03-18T09:30:00.000Z'), 'p1'))).toBe('2026-03-18T09:30');
    expect(minutePart(dueKey(at('2026-03-18T09:29:00.001Z'), 'p1'))).toBe('2026-03-18T09:30');
    expect(minutePart(dueKey(at('2026-03-18T23:59:59.999Z'), 'p1'))).toBe('2026-03-19T00:00');
    fc.assert(
      fc.property(
        fc.integer({ min: at('2020-01-01T00:00:00Z'), max: at('2040-01-01T00:00:00Z') }),
        fc.string({ minLength: 1 }),
        (instant, profileId) => {
          const minute = parseMinute(minutePart(dueKey(instant, profileId)));
          expect(minute).toBeGreaterThanOrEqual(instant);
          expect(minute - instant).toBeLessThan(MINUTE_MS);
        },
      ),
    );
  });

  it('keeps a profile in the same shard, the one earlier versions gave it', () => {
    const shard = dueKey(at('2026-03-18T09:30:00Z'), 'profile-42').split('#')[1];
    expect(dueKey(at('2026-04-01T00:00:00Z'), 'profile-42').split('#')[1]).toBe(shard);
    expect(Number(shard)).toBeLessThan(DUE_SHARDS);
  });

  it('sorts as time does', () => {
    const keys = ['2026-03-18T10:00:01Z', '2026-03-18T09:59:30Z', '2026-03-19T00:00:00Z', '2026-03-18T09:05:00Z'].map((iso) =>
      minutePart(dueKey(at(iso), 'p')),
    );
    expect([...keys].sort()).toEqual(['2026-03-18T09:05', '2026-03-18T10:00', '2026-03-18T10:01', '2026-03-19T00:00']);
  });

  it("reads a minute's shards, and on the hour the hour keys earlier versions wrote", () => {
    expect(dueKeysAt(at('2026-03-18T09:30:00Z'))).toEqual(Array.from({ length: DUE_SHARDS }, (_, s) => `2026-03-18T09:30#${s}`));
    const onTheHour = dueKeysAt(at('2026-03-18T09:00:00Z'));
    expect(onTheHour).toHaveLength(2 * DUE_SHARDS);
    expect(onTheHour).toContain('2026-03-18T09:00#3');
    // An earlier version filed a profile due at 08:20 under the hour it rounds up to: 09.
    expect(onTheHour).toContain('2026-03-18T09#3');
  });
});
