/**
 * One list of a snapshot run (the audience's members, or one variant's): its member parts, its deltas
 * against the same list of the previous run, and its ESP file.
 */
import type { Profile } from '../domain/profile';
import type { Encoding, EspFile, ManifestFile, SnapshotFileKind } from '../domain/snapshot-files';
import type { EspWriter } from './esp-writer';
import { PartWriter } from './snapshot-parts';
import type { SnapshotDeps } from './take-snapshot';

export interface ListFiles {
  files: ManifestFile[];
  counts: { members: number; added: number; removed: number };
  esp?: EspFile;
}

/**
 * Members come in profile id order, as the previous run's files were written: the deltas are a merge
 * of the two sorted streams, not a set in memory.
 */
export class ListWriter {
  readonly counts = { members: 0, added: 0, removed: 0 };
  private readonly writers: Record<SnapshotFileKind, PartWriter>;
  private previousId: string | undefined;

  private constructor(
    private readonly previous: AsyncIterator<string>,
    keyOf: (kind: SnapshotFileKind, part: number) => string,
    encodings: { rows: Encoding; ids: Encoding },
    objects: SnapshotDeps['objects'],
    private readonly esp: EspWriter | undefined,
    private readonly variant: string | undefined,
  ) {
    const writer = (kind: SnapshotFileKind, encoding: Encoding) => new PartWriter(kind, encoding, objects, (part) => keyOf(kind, part));
    this.writers = {
      members: writer('members', encodings.rows),
      added: writer('added', encodings.rows),
      removed: writer('removed', encodings.ids),
    };
  }

  static async open(options: {
    previous: AsyncIterable<string>;
    keyOf: (kind: SnapshotFileKind, part: number) => string;
    encodings: { rows: Encoding; ids: Encoding };
    objects: SnapshotDeps['objects'];
    esp?: EspWriter;
    variant?: string;
  }): Promise<ListWriter> {
    const list = new ListWriter(
      options.previous[Symbol.asyncIterator](),
      options.keyOf,
      options.encodings,
      options.objects,
      options.esp,
      options.variant,
    );
    await list.nextPrevious();
    return list;
  }

  async member(profile: Profile, row: readonly unknown[]): Promise<void> {
    const id = profile.profileId;
    await this.writers.members.write(row);
    await this.esp?.member(row);
    this.counts.members++;
    // Previous members before this id are gone; this id is new unless it was there before.
    while (this.previousId !== undefined && this.previousId < id) await this.removed();
    if (this.previousId === id) await this.nextPrevious();
    else {
      await this.writers.added.write(row);
      await this.esp?.added(profile, row);
      this.counts.added++;
    }
  }

  async finish(): Promise<ListFiles> {
    while (this.previousId !== undefined) await this.removed();
    const files = [
      ...(await this.writers.members.finish()),
      ...(await this.writers.added.finish()),
      ...(await this.writers.removed.finish()),
    ].map((file) => (this.variant === undefined ? file : { ...file, variant: this.variant }));
    const esp = await this.esp?.finish();
    return { files, counts: { ...this.counts }, ...(esp && { esp }) };
  }

  private async removed(): Promise<void> {
    await this.writers.removed.write([this.previousId]);
    await this.esp?.removed(this.previousId!);
    this.counts.removed++;
    await this.nextPrevious();
  }

  private async nextPrevious(): Promise<void> {
    this.previousId = (await this.previous.next()).value as string | undefined;
  }
}
