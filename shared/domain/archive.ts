/**
 * The raw event archive, erasable: each event is kept encrypted with a key of its own person
 * (AES-256-GCM), so erasing the person's key makes every archived copy unreadable at once, without
 * rewriting a file (crypto-shredding). One gzip JSON Lines object per processed batch, partitioned by
 * the day events were received. Pure (node:crypto and node:zlib only).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync } from 'node:zlib';
import type { EnrichedEvent } from './events';

/** One archived event: who it belongs to (a pseudonymous profile id), when it came, and the sealed event. */
export interface ArchivedEvent {
  profileId: string;
  messageId: string;
  receivedAt: string;
  /** base64 of iv (12 bytes) + auth tag (16 bytes) + ciphertext. */
  sealed: string;
  /**
   * `br`: the event was brotli-compressed before being encrypted (ciphertext does not compress, so the
   * object's gzip could not do it afterwards): archived events take about half the bytes. Absent on
   * records archived before.
   */
  compressed?: 'br';
}

export const newArchiveKey = (): string => randomBytes(32).toString('base64');

export function seal(event: EnrichedEvent, profileId: string, key: string): ArchivedEvent {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(key, 'base64'), iv);
  cipher.setAAD(Buffer.from(profileId));
  const plain = brotliCompressSync(JSON.stringify(event), { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } });
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return {
    profileId,
    messageId: event.messageId,
    receivedAt: event.receivedAt,
    sealed: Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64'),
    compressed: 'br',
  };
}

/** The event, or undefined when the key is gone (erased) or does not fit. */
export function unseal(record: ArchivedEvent, key: string | undefined): EnrichedEvent | undefined {
  if (!key) return undefined;
  try {
    const bytes = Buffer.from(record.sealed, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', Buffer.from(key, 'base64'), bytes.subarray(0, 12));
    decipher.setAAD(Buffer.from(record.profileId));
    decipher.setAuthTag(bytes.subarray(12, 28));
    const plain = Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]);
    return JSON.parse((record.compressed === 'br' ? brotliDecompressSync(plain) : plain).toString()) as EnrichedEvent;
  } catch {
    return undefined;
  }
}

export const ARCHIVE_PREFIX = 'archive/events/';
/** The folder of the objects archived on one day (YYYY-MM-DD). */
export const archiveDayPrefix = (day: string): string => `${ARCHIVE_PREFIX}dt=${day}/`;
/** The day (YYYY-MM-DD) an archive object's key files it under. */
export const archiveDayOf = (key: string): string =>
  key.slice(ARCHIVE_PREFIX.length + 'dt='.length, ARCHIVE_PREFIX.length + 'dt='.length + 10);

/**
 * Where a batch is archived: by the day its first event was received, named by a hash of its message
 * ids, so a redelivered batch overwrites its own object instead of adding a copy.
 */
export function archiveKey(records: readonly ArchivedEvent[]): string {
  const day = records
    .map((r) => r.receivedAt)
    .sort()[0]!
    .slice(0, 10);
  const hash = createHash('sha256')
    .update(
      records
        .map((r) => r.messageId)
        .sort()
        .join('\n'),
    )
    .digest('hex')
    .slice(0, 32);
  return `${archiveDayPrefix(day)}${hash}.jsonl.gz`;
}

/** The records of one archive object (gzip JSON Lines), still sealed. */
export const archivedRecords = (body: Buffer): ArchivedEvent[] =>
  gunzipSync(body)
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ArchivedEvent);
