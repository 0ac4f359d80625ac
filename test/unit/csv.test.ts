/** The CSV writer's fast path for plain rows gives exactly what csv-stringify gives, for any row. */

import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvOptionsFor, csvRows } from '#shared/domain/snapshot-rows';

const cell = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constantFrom('', ' ', '=1+1', '-5', '+33612345678', '@x', '\tx', '\rx', 'a,b', 'a"b', 'a\nb', 'a\rb', '\uFF1D1', 'plain text'),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constantFrom(undefined, null),
  fc.jsonValue({ maxDepth: 1 }),
);

describe('csvRows', () => {
  it('writes the bytes csv-stringify writes, with and without key columns', () => {
    for (const columns of [
      ['a', 'b', 'c'],
      ['profileId', 'email', 'traits.firstName'],
    ]) {
      const options = csvOptionsFor(columns);
      fc.assert(
        fc.property(fc.array(fc.array(cell, { minLength: 3, maxLength: 3 }), { maxLength: 20 }), (rows) => {
          expect(csvRows(rows, options)).toBe(stringify(rows, options));
        }),
        { numRuns: 2000, seed: 15 },
      );
    }
  });
});

describe('firstCells', () => {
  it('reads the first cell of every record as csv-parse does, whatever the chunks and wherever the first quote', async () => {
    const { parse } = await import('csv-parse/sync');
    const { Readable } = await import('node:stream');
    const { firstCells } = await import('#shared/domain/snapshot-files');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(cell, { minLength: 2, maxLength: 3 }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 64 }),
        async (rows, chunkSize) => {
          const text = csvRows(
            [['profileId', 'x'], ...rows.map((row) => [`p_${String(row[0] ?? '')}`, ...row.slice(1)])],
            csvOptionsFor(['profileId', 'x', 'y']),
          );
          const bytes = Buffer.from(text); // chunks cut anywhere, inside a UTF-8 sequence too, as gunzip cuts them
          const chunks = Array.from({ length: Math.ceil(bytes.length / chunkSize) }, (_, i) =>
            bytes.subarray(i * chunkSize, (i + 1) * chunkSize),
          );
          const read: string[] = [];
          for await (const id of firstCells(Readable.from(chunks))) read.push(id);
          expect(read).toEqual((parse(text, { from_line: 2, relax_column_count: true }) as string[][]).map((record) => record[0]));
        },
      ),
      { numRuns: 500, seed: 15 },
    );
  });
});
