/**
 * Audience snapshots: rows/s and peak memory at 100,000 and 1,000,000 members, through the real
 * snapshot use case and the real S3 client against s3rver (in this process, so its memory counts
 * too). Members and profiles come from generators behind the store ports, so the figures are the
 * snapshot's own, not DynamoDB's. Two runs per size: the first exports everyone, the second merges
 * against the first read back (10 % of members changed). The peer is the buffered snapshot a first
 * version would write: every row in memory, gzipped at once, one PUT.
 *
 * Run alone: npx tsx bench/snapshot.ts [--sizes 100000,1000000]
 */

import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Logger } from '@aws-lambda-powertools/logger';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { S3ObjectStore } from '#shared/adapters/s3/object-store';
import { type Audience, exportColumns } from '#shared/domain/audiences';
import { newProfile, type Profile } from '#shared/domain/profile';
import { csvRow, fieldValue } from '#shared/domain/snapshot-rows';
import type { CatalogStore, RunRecord } from '#shared/ports/catalog';
import type { MembershipStore } from '#shared/ports/memberships';
import type { ProfileStore } from '#shared/ports/profiles';
import { takeSnapshot } from '#shared/usecases/take-snapshot';
import { type BenchResult, formatRate } from './harness';

const idOf = (i: number) => `p_${String(i).padStart(9, '0')}`;

/** A segment of `size` members; in `generation` 1, one member in ten is replaced by another person. */
function population(size: number, generation: { value: number }) {
  // Another person in the same place of the (globally sorted) membership order.
  const member = (i: number) => (generation.value === 1 && i % 10 === 0 ? `${idOf(i)}x` : idOf(i));
  const profileOf = (id: string): Profile => {
    const n = Number.parseInt(id.slice(2), 10);
    return {
      ...newProfile(id, '2026-01-01T00:00:00.000Z'),
      identifiers: { email: [`person${n}@example.com`] },
      traits: { firstName: `Name${n}`, city: n % 2 ? 'Nice' : 'Lyon' },
    };
  };
  const memberships: Pick<MembershipStore, 'members'> = {
    async members(_segment, cursor, limit) {
      const from = cursor ? Number(cursor) : 0;
      const ids = Array.from({ length: Math.min(limit, size - from) }, (_, k) => member(from + k));
      return {
        items: ids.map((profileId) => ({ profileId, enteredAt: '2026-01-01T00:00:00.000Z' })),
        cursor: from + limit < size ? String(from + limit) : undefined,
      };
    },
  };
  const profiles: Pick<ProfileStore, 'getMany'> = { getMany: async (ids) => ids.map(profileOf) };
  return { memberships, profiles, profileOf, member };
}

async function measureMemory<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number; peakMb: number }> {
  global.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const start = process.hrtime.bigint();
  try {
    const result = await work();
    return {
      result,
      seconds: Number(process.hrtime.bigint() - start) / 1e9,
      peakMb: (Math.max(peak, process.memoryUsage().rss) - base) / 1024 / 1024,
    };
  } finally {
    clearInterval(sampler);
  }
}

/** An experiment of `count` variants of about equal shares, none held out: every list open at once. */
const experimentOf = (count: number): Audience['experiment'] => ({
  variants: Array.from({ length: count }, (_, i) => ({
    name: `v${i}`,
    percent: Math.floor(100 / count) + (i === 0 ? 100 % count : 0),
    holdout: false,
  })),
});

export async function run(options: { sizes?: number[]; variants?: number } = {}): Promise<BenchResult> {
  const sizes = options.sizes ?? [100_000, 1_000_000];
  const variants = options.variants ?? 0;
  const directory = mkdtempSync(join(tmpdir(), 'prisme-bench-s3-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: 'bench' }] });
  const { port } = (await server.run()) as AddressInfo;
  const s3 = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const objects = new S3ObjectStore(s3, 'bench');
  const figures: Record<string, number> = {};
  const ratios: Record<string, number> = {};
  try {
    for (const size of sizes) {
      const generation = { value: 0 };
      const people = population(size, generation);
      const audience: Audience = {
        id: `bench-${size}`,
        name: 'bench',
        segmentId: 'everyone',
        fields: ['email', 'traits.firstName', 'traits.city'],
        format: 'csv',
        minSize: 1,
        maxSizeChange: 1,
        holdoutPercent: 0,
        ...(variants > 0 && { experiment: experimentOf(variants) }),
        revision: 1,
        status: 'approved',
        approval: { by: 'bench', at: '2026-01-01T00:00:00.000Z', size, audienceRevision: 1 },
        createdAt: '2026-01-01T00:00:00.000Z',
        updatedAt: '2026-01-01T00:00:00.000Z',
      };
      const runs = new Map<string, RunRecord>();
      const catalog = {
        audiences: { get: async () => audience },
        segments: { get: async () => ({ id: 'everyone', revision: 1 }) },
        putRun: async (_scope: string, record: RunRecord) => void runs.set(record.runId, record),
      } as unknown as CatalogStore;
      const deps = {
        catalog,
        memberships: people.memberships as MembershipStore,
        profiles: people.profiles as ProfileStore,
        objects,
        publisher: { publish: async () => undefined },
        logger: new Logger({ serviceName: 'bench', logLevel: 'SILENT' }),
        now: Date.now,
      };
      const first = await measureMemory(() => takeSnapshot(audience.id, 'run-1', deps));
      generation.value = 1;
      const second = await measureMemory(() => takeSnapshot(audience.id, 'run-2', deps));
      if (second.result?.counts.added !== size / 10 || second.result.counts.removed !== size / 10) {
        throw new Error(`unexpected deltas: ${JSON.stringify(second.result?.counts)}`);
      }
      const label = `${formatRate(size)}${variants > 0 ? ` in ${variants} variants` : ''}`;
      figures[`rows/s at ${label}, first run`] = size / first.seconds;
      figures[`rows/s at ${label}, with deltas`] = size / second.seconds;
      figures[`peak memory MB at ${label}`] = Math.max(first.peakMb, second.peakMb);

      // The peer: every row in memory, one gzip, one PUT.
      const buffered = await measureMemory(async () => {
        const columns = exportColumns(audience);
        const rows: string[] = [csvRow(columns)];
        for (let i = 0; i < size; i++) rows.push(csvRow(columns.map((field) => fieldValue(people.profileOf(idOf(i)), field))));
        await objects.put(`buffered/${audience.id}.csv.gz`, gzipSync(rows.join('')), 'application/gzip');
      });
      figures[`buffered peer peak memory MB at ${label}`] = buffered.peakMb;
      ratios[`buffered vs streamed memory at ${label}`] = buffered.peakMb / Math.max(1, Math.max(first.peakMb, second.peakMb));
    }
  } finally {
    s3.destroy();
    await server.close();
    rmSync(directory, { recursive: true, force: true });
  }
  return {
    name: 'snapshot',
    description: `audience snapshots of ${sizes.map(formatRate).join(' and ')} members (3 columns${variants > 0 ? `, an experiment of ${variants} variants` : ''}), streamed to s3rver through multipart uploads; a second run merges deltas against the first; memory is the process's RSS growth, s3rver included`,
    unit: 'rows/s',
    figures,
    ratios,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { sizes: { type: 'string' }, variants: { type: 'string' } } });
  const result = await run({
    sizes: values.sizes?.split(',').map(Number),
    variants: values.variants ? Number(values.variants) : undefined,
  });
  console.log(result.description);
  for (const [name, value] of Object.entries(result.figures))
    console.log(`${name.padEnd(44)} ${value >= 100 ? formatRate(value) : value.toFixed(1)}`);
  for (const [name, value] of Object.entries(result.ratios)) console.log(`${name.padEnd(44)} ${value.toFixed(1)}x`);
}
