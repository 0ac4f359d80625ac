import type { Readable } from 'node:stream';

/** Port: the data bucket (snapshots, ESP files, the raw event archive). */
export interface ObjectStore {
  put(key: string, body: Buffer | string, contentType: string): Promise<void>;
  /** Streams `body` to the object: a multipart upload beyond one part, so memory stays bounded. */
  putStream(key: string, body: Readable, contentType: string): Promise<void>;
  /** Undefined when there is no such object. */
  get(key: string): Promise<Buffer | undefined>;
  /** The object as a stream; undefined when there is no such object. */
  getStream(key: string): Promise<Readable | undefined>;
  /** Up to `limit` keys under `prefix`, in key order, after `startAfter`; `more` when others follow. */
  list(prefix: string, startAfter: string | undefined, limit: number): Promise<{ keys: string[]; more: boolean }>;
  /**
   * The folders right under `prefix` (`audiences/a/` under `audiences/`), in key order, after
   * `startAfter`: one entry per folder, however many objects it holds. `next` resumes when `more`.
   */
  listFolders(prefix: string, startAfter: string | undefined, limit: number): Promise<{ folders: string[]; more: boolean; next?: string }>;
  /** A URL anyone holding it can GET the object with, for `expiresInSeconds`. */
  presignedGetUrl(key: string, expiresInSeconds: number): Promise<string>;
}
