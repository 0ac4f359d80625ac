/** The files of a snapshot run: rows into bounded parts, streamed and hashed on the way to S3. */
import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, Transform } from 'node:stream';
import { createGzip } from 'node:zlib';
import { type Encoding, type ManifestFile, ROWS_PER_PART, type SnapshotFileKind } from '../domain/snapshot-files';
import type { ObjectStore } from '../ports/objects';

/**
 * Rows into parts of at most ROWS_PER_PART rows, each with its byte count and SHA-256. Text formats are
 * gzipped and streamed to S3 as they are written; Parquet is encoded a part at a time. An empty file
 * still gets one part (a CSV one holds its header), so consumers never special-case absence.
 */
export class PartWriter {
  private readonly files: ManifestFile[] = [];
  private current?: {
    key: string;
    rows: number;
    bytes: number;
    hash: Hash;
    gzip?: Transform;
    uploaded: Promise<void>;
    buffered: unknown[][];
  };
  private part = 0;
  /** Rows not yet handed to gzip: batched, as one write (and one CSV encoding) per row costs more than the compression. */
  private pending: Array<readonly unknown[]> = [];

  constructor(
    private readonly kind: SnapshotFileKind | 'holdout',
    private readonly encoding: Encoding,
    private readonly objects: ObjectStore,
    private readonly keyOf: (part: number) => string,
    /** Infinity for a file that must stay one object (an ESP file, the holdout): a second part would overwrite the first. */
    private readonly rowsPerPart = ROWS_PER_PART,
  ) {}

  async write(values: readonly unknown[]): Promise<void> {
    if (!this.current || this.current.rows >= this.rowsPerPart) {
      await this.close();
      this.open();
    }
    const current = this.current!;
    current.rows++;
    if (this.encoding.binary) current.buffered.push([...values]);
    else {
      this.pending.push([...values]); // encoded at the flush: a copy, in case the caller reuses its row
      if (this.pending.length >= 1000) await this.flush();
    }
  }

  async finish(): Promise<ManifestFile[]> {
    if (!this.current && this.files.length === 0) this.open();
    await this.close();
    return this.files;
  }

  private async flush(): Promise<void> {
    const current = this.current!;
    const chunk = this.encoding.text!.lines(this.pending);
    this.pending = [];
    if (!current.gzip!.write(chunk)) {
      // Wait for the upload to take more, or for it to fail (then never wait for a drain that will not come).
      await Promise.race([
        once(current.gzip!, 'drain'),
        current.uploaded.then(() => Promise.reject(new Error(`upload of ${current.key} ended early`))),
      ]);
    }
  }

  private open(): void {
    const state: NonNullable<PartWriter['current']> = {
      key: this.keyOf(this.part++),
      rows: 0,
      bytes: 0,
      hash: createHash('sha256'),
      uploaded: Promise.resolve(),
      buffered: [],
    };
    if (this.encoding.text) {
      const gzip = this.encoding.text.plain ? new PassThrough() : createGzip();
      const counted = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          state.hash.update(chunk);
          state.bytes += chunk.length;
          done(null, chunk);
        },
      });
      state.gzip = gzip;
      state.uploaded = this.objects.putStream(state.key, gzip.pipe(counted), this.encoding.contentType);
      state.uploaded.catch(() => undefined); // awaited in close(); a failure must not go unhandled meanwhile
      if (this.encoding.text.header) gzip.write(this.encoding.text.header);
    }
    this.current = state;
  }

  private async close(): Promise<void> {
    const current = this.current;
    if (!current) return;
    if (this.pending.length > 0) await this.flush();
    this.current = undefined;
    if (current.gzip) {
      current.gzip.end();
      await current.uploaded;
    } else {
      const body = Buffer.from(this.encoding.binary!(current.buffered));
      current.hash.update(body);
      current.bytes = body.length;
      await this.objects.put(current.key, body, this.encoding.contentType);
    }
    if (this.kind !== 'holdout') {
      this.files.push({ key: current.key, kind: this.kind, rows: current.rows, bytes: current.bytes, sha256: current.hash.digest('hex') });
    }
  }
}

export const sha256 = (body: Buffer): string => createHash('sha256').update(body).digest('hex');
