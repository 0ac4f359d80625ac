/**
 * Keys of the sparse `due` index: which profiles the time sweep must re-evaluate at a given minute.
 * A profile due at `nextCheckAt` is filed under the minute that instant rounds up to, so the sweep of
 * that minute (or any later one) finds it with `nextCheckAt <= now`. Pure.
 */
export const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/** Shards of the due index: spreads the profiles due in one minute over several partitions. */
export const DUE_SHARDS = 8;

function shardOf(profileId: string): number {
  let hash = 0;
  for (let i = 0; i < profileId.length; i++) hash = (hash * 31 + profileId.charCodeAt(i)) | 0;
  return Math.abs(hash) % DUE_SHARDS;
}

/** `2026-03-15T14:07`: sorts as time does, reads as a UTC minute. */
export const minuteOf = (ms: number): string => new Date(ms).toISOString().slice(0, 16);
export const parseMinute = (minute: string): number => Date.parse(`${minute}:00.000Z`);
export const floorMinute = (ms: number): number => Math.floor(ms / MINUTE_MS) * MINUTE_MS;

/** The due-index key of an instant: the minute it rounds up to and a shard from the profile id, `2026-03-15T14:07#3`. */
export function dueKey(at: number, profileId: string): string {
  return `${minuteOf(Math.ceil(at / MINUTE_MS) * MINUTE_MS)}#${shardOf(profileId)}`;
}

/**
 * Every key holding profiles due at `minute` (a whole minute, ms): its shards, and on the hour the shards
 * of that hour in the format of earlier versions, so no profile they filed is missed after an upgrade.
 */
export function dueKeysAt(minute: number): string[] {
  const shards = Array.from({ length: DUE_SHARDS }, (_, shard) => shard);
  const keys = shards.map((shard) => `${minuteOf(minute)}#${shard}`);
  if (minute % HOUR_MS === 0) keys.push(...shards.map((shard) => `${minuteOf(minute).slice(0, 13)}#${shard}`));
  return keys;
}

/** Where a sweep is: a minute, one of its keys (an index into `dueKeysAt`), and a page cursor in that key. */
export interface SweepPosition {
  minute: number;
  key: number;
  cursor?: string;
}

/** The position after a page of `position`'s key that ended with `cursor` (none: the key is done). */
export function nextPosition(position: SweepPosition, cursor: string | undefined): SweepPosition {
  if (cursor) return { ...position, cursor };
  if (position.key + 1 < dueKeysAt(position.minute).length) return { minute: position.minute, key: position.key + 1 };
  return { minute: position.minute + MINUTE_MS, key: 0 };
}
