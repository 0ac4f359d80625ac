/** The per-ESP rendering of a run (Braze CDI, Brevo, ...), written to its own prefix beside the run. */
import type { Audience, EspPreset } from '../domain/audiences';
import { BRAZE_HEADER, brazeAttribute, brazeRow, espFileKey, presetColumns } from '../domain/esp';
import type { Profile } from '../domain/profile';
import type { Encoding, Manifest } from '../domain/snapshot-files';
import { csvOptionsFor, csvRow, csvRows } from '../domain/snapshot-rows';
import type { ObjectStore } from '../ports/objects';
import type { ProfileStore } from '../ports/profiles';
import { PartWriter } from './snapshot-parts';

/**
 * The file of the audience's ESP preset, written alongside the run in its own folder. Braze takes
 * changes (entered: true, left: false, by external id); the others take the full list.
 */
export class EspWriter {
  private readonly preset: EspPreset;
  private readonly writer: PartWriter;
  private readonly key: string;
  private readonly attribute: string;
  private rows = 0;
  private skipped = 0;
  /** Braze needs the userId of members who left: read in batches, as they come. */
  private leaving: string[] = [];

  constructor(
    audience: Audience,
    runId: string,
    private readonly columns: readonly string[],
    private readonly deps: { objects: ObjectStore; profiles: Pick<ProfileStore, 'getMany'> },
    variant?: string,
  ) {
    this.preset = audience.preset!;
    this.key = espFileKey(this.preset, audience.id, runId, variant);
    this.attribute = brazeAttribute(audience.id, variant);
    const options = csvOptionsFor(columns);
    const encoding: Encoding =
      this.preset === 'braze'
        ? {
            contentType: 'text/csv',
            text: { header: BRAZE_HEADER, lines: (rows) => rows.map(([row]) => String(row)).join(''), plain: true },
          }
        : {
            contentType: 'text/csv',
            text: { header: csvRow(presetColumns(this.preset, columns)), lines: (rows) => csvRows(rows, options), plain: true },
          };
    this.writer = new PartWriter('members', encoding, deps.objects, () => this.key, Infinity);
  }

  async member(row: readonly unknown[]): Promise<void> {
    if (this.preset !== 'braze') await this.write(row);
  }

  async added(profile: Profile, row: readonly unknown[]): Promise<void> {
    if (this.preset !== 'braze') return;
    const attributes = Object.fromEntries(
      this.columns.map((c, i) => [c.replace(/^(traits|indicators)\./, ''), row[i]]).filter(([c]) => c !== 'profileId' && c !== 'userId'),
    );
    await this.brazeRow(brazeRow(this.attribute, profile.identifiers.userId?.at(-1), true, attributes));
  }

  async removed(profileId: string): Promise<void> {
    if (this.preset !== 'braze') return;
    this.leaving.push(profileId);
    if (this.leaving.length >= 100) await this.flushLeaving();
  }

  async finish(): Promise<NonNullable<Manifest['esp']>> {
    await this.flushLeaving();
    const [file] = await this.writer.finish();
    return { preset: this.preset, key: this.key, rows: this.rows, bytes: file!.bytes, sha256: file!.sha256, skipped: this.skipped };
  }

  private async flushLeaving(): Promise<void> {
    const ids = this.leaving;
    this.leaving = [];
    const userIds = new Map((await this.deps.profiles.getMany(ids)).map((p) => [p.profileId, p.identifiers.userId?.at(-1)]));
    for (const id of ids) await this.brazeRow(brazeRow(this.attribute, userIds.get(id), false));
  }

  private async brazeRow(line: string | undefined): Promise<void> {
    if (line === undefined) this.skipped++;
    else await this.write([line]);
  }

  private async write(values: readonly unknown[]): Promise<void> {
    this.rows++;
    await this.writer.write(values);
  }
}
