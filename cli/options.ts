/** Options and argument parsers the commands share; a bad value is a usage error (exit code 2) naming the option. */

import { InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { DEFAULT_DATA_DIR } from '#local/runtime-file';

export const dataDirOption = (): Option =>
  new Option('--data-dir <dir>', `the data folder of the npm start to use`).env('PRISME_DATA_DIR').default(DEFAULT_DATA_DIR);

export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('Expected a whole number of at least 1.');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('Expected a number above 0.');
  return n;
}

export function day(value: string): string {
  if (!z.iso.date().safeParse(value).success) throw new InvalidArgumentError('Expected a day that exists, YYYY-MM-DD.');
  return value;
}
