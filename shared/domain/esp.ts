/**
 * ESP presets: the file each email service provider imports, written next to a snapshot run in a
 * folder of its own (`esp/<preset>/<audienceId>/`) that holds only data files.
 *
 * - braze: Braze Cloud Data Ingestion from S3: rows of `EXTERNAL_ID` and `PAYLOAD` (JSON attributes),
 *   the audience as a boolean attribute, true for members who entered and explicitly false for those
 *   who left, so Braze updates only what changed.
 * - sfmc, iterable: the full member list as a plain CSV with the column names their imports expect.
 * - brevo: the same for Brevo's import from a URL (a presigned link, `GET .../snapshots/{runId}/esp-url`).
 * Pure.
 */
import type { EspPreset } from './audiences';
import { csvRow } from './snapshot-rows';

const EXTERNAL_ID = new Set([0]);

export { ESP_PRESETS, type EspPreset } from './audiences';

/** An experiment's variants each get a folder of their own: one ESP import, one list, per variant. */
export const espFileKey = (preset: EspPreset, audienceId: string, runId: string, variant?: string): string =>
  `esp/${preset}/${audienceId}/${variant === undefined ? '' : `${variant}/`}${runId}.csv`;

/** The Braze custom attribute that says a user is in the audience (or in one of its variants). */
export const brazeAttribute = (audienceId: string, variant?: string): string =>
  `prisme_${audienceId.replaceAll('-', '_')}${variant === undefined ? '' : `__${variant.replaceAll('-', '_')}`}`;

/** Braze identifies users by their external id: Prisme's userId. Members without one cannot be sent. */
export function brazeRow(
  attribute: string,
  userId: string | undefined,
  member: boolean,
  attributes: Record<string, unknown> = {},
): string | undefined {
  if (!userId) return undefined;
  const payload = {
    ...Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== undefined)),
    [attribute]: member,
  };
  return csvRow([userId, JSON.stringify(payload)], EXTERNAL_ID);
}

export const BRAZE_HEADER = csvRow(['EXTERNAL_ID', 'PAYLOAD']);

/** Column names of the full-list presets, for the snapshot's columns (profileId first). */
export function presetColumns(preset: Exclude<EspPreset, 'braze'>, columns: readonly string[]): string[] {
  const renamed: Record<Exclude<EspPreset, 'braze'>, Record<string, string>> = {
    sfmc: { profileId: 'SubscriberKey', email: 'EmailAddress' },
    iterable: { profileId: 'prismeId', email: 'email', userId: 'userId', phone: 'phoneNumber' },
    brevo: { profileId: 'EXT_ID', email: 'EMAIL', phone: 'SMS' },
  };
  return columns.map(
    (c) =>
      renamed[preset][c] ??
      (preset === 'brevo' ? c.replace(/^(traits|indicators)\./, '').toUpperCase() : c.replace(/^(traits|indicators)\./, '')),
  );
}
