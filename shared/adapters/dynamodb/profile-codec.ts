/**
 * How a profile is stored. DynamoDB bills every write by the whole item's size in 1 KB units, and a
 * profile is written on every session: its keys and the attributes DynamoDB itself reads (the
 * `version` condition, the `due` index) stay as they are, the rest is one brotli-compressed JSON
 * document (AWS's advice for large attribute values). A typical customer's 1.2-1.5 KB of attributes
 * take 0.5-0.8 KB: one write unit where they took two, and half the bytes for scans to read.
 */
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import type { Profile } from '../../domain/profile';
import { withoutPrototypes } from '../../domain/records';

export interface StoredProfile {
  profileId: string;
  version: number;
  due?: string;
  /** Everything else, compressed. */
  body: Uint8Array;
}

/** Fast enough to be lost in the write's latency (about 15 µs for a typical profile), within 3 % of the best ratio. */
const QUALITY = 5;

export function encodeProfile(profile: Profile): StoredProfile {
  const { profileId, version, due, ...rest } = profile;
  const json = Buffer.from(JSON.stringify(rest));
  const body = brotliCompressSync(json, {
    params: { [constants.BROTLI_PARAM_QUALITY]: QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: json.length },
  });
  return { profileId, version, ...(due === undefined ? {} : { due }), body };
}

/**
 * Items written before profiles were compressed have no body and are read as they are. Every record
 * comes back without a prototype: its keys (event names, traits, categories) are a client's.
 */
export function decodeProfile(item: Record<string, unknown>): Profile {
  const { body, ...keys } = item as Partial<StoredProfile> & Record<string, unknown>;
  if (!(body instanceof Uint8Array)) return withoutPrototypes(item) as unknown as Profile;
  return withoutPrototypes({
    ...(JSON.parse(brotliDecompressSync(body).toString()) as Omit<Profile, 'profileId' | 'version'>),
    ...keys,
  } as Profile);
}
