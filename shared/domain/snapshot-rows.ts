/**
 * A member as a row of an export: each field's value (pseudonymised where asked), as CSV cells that a
 * spreadsheet will not run as a formula and whose keys keep their leading zeros. Pure: no I/O.
 */

import { createHash } from 'node:crypto';
import { type Options, stringify } from 'csv-stringify/sync';
import { isGroupTraitField } from './audiences';
import { groupIdsOf } from './fold';
import type { GroupTraits } from './groups';
import type { IndicatorValues } from './indicators';
import { type Profile, primaryEmail } from './profile';
import { own } from './records';

const sha256Hex = (value: string | undefined) => (value === undefined ? undefined : createHash('sha256').update(value).digest('hex'));

/**
 * A column's value for a profile; `indicators` are needed for `indicators.<id>` columns, `groups` (the
 * traits of the profile's groups, the most recently joined first) for `groups.<trait>` columns.
 */
export function fieldValue(profile: Profile, field: string, indicators?: IndicatorValues, groups?: readonly GroupTraits[]): unknown {
  if (field.startsWith('indicators.')) return indicators?.[field.slice('indicators.'.length)];
  if (isGroupTraitField(field)) {
    const trait = field.slice('groups.'.length);
    for (const traits of groups ?? []) {
      const value = own(traits, trait);
      if (value !== undefined && value !== null) return value;
    }
    return undefined;
  }
  switch (field) {
    case 'profileId':
      return profile.profileId;
    case 'userId':
      return profile.identifiers.userId?.at(-1);
    case 'anonymousId':
      return profile.identifiers.anonymousId?.at(-1);
    case 'email':
      return primaryEmail(profile);
    case 'phone':
      return profile.identifiers.phone?.at(-1);
    // Emails are stored trimmed and lower-cased, phones in E.164: already the normal forms ad platforms hash.
    case 'email_sha256':
      return sha256Hex(primaryEmail(profile));
    case 'phone_sha256':
      return sha256Hex(profile.identifiers.phone?.at(-1));
    case 'firstSeen':
      return profile.firstSeen;
    case 'lastSeen':
      return profile.lastSeen;
    case 'groups':
      return groupIdsOf(profile).join(';') || undefined;
    default:
      return own(profile.traits, field.slice('traits.'.length));
  }
}

/**
 * A CSV line (RFC 4180, by csv-stringify). A cell a spreadsheet would run as a formula (OWASP CSV
 * injection: starting with `=`, `+`, `-`, `@`, tab or CR, or their full-width forms) is prefixed with `'`
 * and quoted. Numbers are constants, not formulas: a number value such as -5 and a phone number in E.164
 * (`+33612345678`, as Prisme stores phones) are written as they are; the text "-5" becomes `'-5`.
 * Key cells (`keys`: the columns an ESP matches people on) are written exactly, quoted only as RFC 4180
 * needs: an ESP given `'-ada@example.com` for `-ada@example.com` would update someone else, or nobody.
 */
export function csvRow(values: readonly unknown[], keys: ReadonlySet<number> = NO_KEYS): string {
  return csvRows([values], keys.size === 0 ? CSV_OPTIONS : keyedOptions(keys));
}

/**
 * Many lines at once, as `csvRow` writes them. Rows whose every cell needs neither quoting nor escaping
 * (most rows of most audiences) are joined here; the others go to csv-stringify, which is 25 times slower
 * per row and would make the CSV encoding most of a snapshot's time. Both give the same bytes.
 */
export function csvRows(rows: ReadonlyArray<readonly unknown[]>, options: Options = CSV_OPTIONS): string {
  let text = '';
  let special: unknown[][] = [];
  const flushSpecial = () => {
    if (special.length > 0) text += stringify(special, options);
    special = [];
  };
  for (const row of rows) {
    const line = plainLine(row);
    if (line === undefined) special.push(row as unknown[]);
    else {
      flushSpecial();
      text += line;
    }
  }
  flushSpecial();
  return text;
}

/** Cells that are written as they are by any of the options (no quote, separator, line break, formula start). */
const PLAIN_TEXT = /^(?:[^=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20",\n][^",\n\r]*)?$/;

function plainLine(row: readonly unknown[]): string | undefined {
  let line = '';
  for (let i = 0; i < row.length; i++) {
    const value = row[i];
    let cell: string;
    if (value === undefined || value === null) cell = '';
    else if (typeof value === 'string') {
      if (!PLAIN_TEXT.test(value)) return undefined;
      cell = value;
    } else if (typeof value === 'number' && Number.isFinite(value)) cell = String(value);
    else if (typeof value === 'boolean') cell = String(value);
    else return undefined;
    line += i === 0 ? cell : `,${cell}`;
  }
  return `${line}\n`;
}

/** The options `csvRows` writes a file's rows with, keys among `columns` exact. */
export const csvOptionsFor = (columns: readonly string[]): Options => {
  const keys = keyIndexes(columns);
  return keys.size === 0 ? CSV_OPTIONS : keyedOptions(keys);
};

/** The columns people are matched on, exact in every file: Prisme's ids and the identifiers ESPs key on. */
export const KEY_COLUMNS: ReadonlySet<string> = new Set([
  'profileId',
  'userId',
  'email',
  'phone',
  'anonymousId',
  'email_sha256',
  'phone_sha256',
]);

/** Where the key columns are among `columns`. */
export const keyIndexes = (columns: readonly string[]): ReadonlySet<number> =>
  new Set(columns.flatMap((column, i) => (KEY_COLUMNS.has(column) ? [i] : [])));

const NO_KEYS: ReadonlySet<number> = new Set();

/** The first characters csv-stringify's `escape_formulas` prefixes with `'`. */
export const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

const E164 = /^\+[1-9]\d{6,14}$/;

const CSV_OPTIONS: Options = {
  escape_formulas: true,
  record_delimiter: 'unix',
  // A lone CR or LF in a cell is quoted too: csv-stringify stops doing so once a record_delimiter is set.
  quote_record_delimiter: true,
  cast: {
    boolean: (value) => String(value),
    string: (value) => castText(value),
  },
};

/** A text cell: exact when a key or a phone number, escaped (and quoted) when it starts like a formula. */
const castText = (value: string, key = false) =>
  key || E164.test(value) ? { value, escape_formulas: false } : FORMULA_START.test(value) ? { value, quoted: true } : value;

function keyedOptions(keys: ReadonlySet<number>): Options {
  return {
    ...CSV_OPTIONS,
    cast: {
      ...CSV_OPTIONS.cast,
      string: (value, context) => castText(value, keys.has(context.index)),
    },
  };
}
