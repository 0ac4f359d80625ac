/**
 * Scale: how the work of each admin path grows with the population. For each population (10,000 and
 * 100,000 profiles by default, written in bulk to dynalite), ten segments of a tenth of it each and an
 * audience on one of them; each path runs through its use case on the real DynamoDB adapters, and its
 * DynamoDB calls, read units and time are measured by the usage meter. The growth per 10x population is
 * printed against the order each path should have: O(1) (a bounded sample, for the preview) and
 * O(segments) must not grow with the population, O(members) grows with the segment's size, only the
 * freeze may read everyone. A path growing faster than its order is a missed check.
 *
 * Run alone: npx tsx bench/scale.ts [--sizes 10000,100000]
 */
import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoCatalogStore } from '#shared/adapters/dynamodb/catalog-store';
import { DynamoFrozenStore } from '#shared/adapters/dynamodb/frozen-store';
import { DynamoGroupStore } from '#shared/adapters/dynamodb/group-store';
import { DynamoMembershipStore } from '#shared/adapters/dynamodb/membership-store';
import { DynamoProfileStore } from '#shared/adapters/dynamodb/profile-store';
import type { Audience } from '#shared/domain/audiences';
import { newProfile } from '#shared/domain/profile';
import type { Segment } from '#shared/domain/segment-definition';
import { approvalPreview } from '#shared/usecases/approve-audience';
import { withManagedSegments } from '#shared/usecases/managed-segments';
import { previewSegment } from '#shared/usecases/preview-segment';
import { reconcileSizes, segmentSizes } from '#shared/usecases/segment-sizes';
import { benchDynamo } from './dynalite';
import { type BenchResult, formatRate, printResult } from './harness';

const SEGMENTS = 10;
const AT = '2026-06-01T00:00:00.000Z';

/** The order a path must keep; `grows` is the population's growth factor it may follow. */
const ORDERS = {
  'O(1)': 1,
  'O(segments)': 1,
  'O(members)': 10,
  'O(population)': 10,
} as const;

interface PathFigures {
  seconds: number;
  calls: number;
  readUnits: number;
}

async function population(size: number) {
  const bench = await benchDynamo();
  const stores = {
    profiles: new DynamoProfileStore(bench.dynamo, 'bench-profiles'),
    memberships: new DynamoMembershipStore(bench.dynamo, 'bench-memberships'),
    catalog: withManagedSegments(new DynamoCatalogStore(bench.dynamo, 'bench-catalog')),
    frozen: new DynamoFrozenStore(bench.dynamo, 'bench-frozen'),
    groups: new DynamoGroupStore(bench.dynamo, 'bench-groups'),
  };
  const started = Date.now();
  for (let i = 0; i < size; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, size - i) }, async (_, k) => {
        const n = i + k;
        const profileId = `p_${String(n).padStart(8, '0')}`;
        const profile = { ...newProfile(profileId, AT), version: 1, traits: { tier: n % 10 === 0 ? 'gold' : 'silver' } };
        await stores.profiles.put(profile, 0);
        await stores.memberships.enter(`s${n % SEGMENTS}`, profileId, AT);
      }),
    );
    if ((i + 100) % 50_000 === 0) console.error(`  ${formatRate(i + 100)} of ${formatRate(size)} profiles written`);
  }
  console.error(`  ${formatRate(size)} profiles and their memberships written in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  for (let s = 0; s < SEGMENTS; s++) {
    const segment: Segment = {
      id: `s${s}`,
      name: `Segment ${s}`,
      condition: { type: 'trait', trait: 'tier', operator: 'eq', value: 'silver' },
      revision: 1,
      languageVersion: 1,
      status: 'ready',
      createdAt: AT,
      updatedAt: AT,
    };
    await stores.catalog.segments.put(segment);
  }
  const audience: Audience = {
    id: 'scale',
    name: 'Scale',
    segmentId: 's0',
    fields: ['email'],
    format: 'csv',
    minSize: 1,
    maxSizeChange: 0.5,
    holdoutPercent: 10,
    revision: 1,
    status: 'draft',
    createdAt: AT,
    updatedAt: AT,
  };
  await stores.catalog.audiences.put(audience);
  // The memberships were written under the stores: the daily freeze's reconciliation gives them their counters.
  await reconcileSizes({ ...stores, logger: new Logger({ logLevel: 'SILENT' }) });
  return { bench, stores };
}

/** Each admin path, through its use case, with the order it must keep. */
const PATHS: Array<{
  name: string;
  order: keyof typeof ORDERS;
  run: (stores: Awaited<ReturnType<typeof population>>['stores']) => Promise<unknown>;
}> = [
  {
    name: 'list segments (with sizes)',
    order: 'O(segments)',
    run: async (stores) => {
      const segments = await stores.catalog.segments.list();
      const sizes = await segmentSizes(
        segments.map((s) => s.id),
        stores,
      );
      return segments.map((s) => ({ ...s, size: sizes.get(s.id) }));
    },
  },
  {
    name: 'segment page (size and 30 days)',
    order: 'O(1)',
    run: async (stores) => Promise.all([segmentSizes(['s1'], stores), stores.catalog.dailyChanges('s1', '2026-05-01')]),
  },
  {
    name: 'preview a condition',
    order: 'O(1)',
    run: async (stores) =>
      previewSegment(
        { condition: { type: 'trait', trait: 'tier', operator: 'eq', value: 'gold' }, sampleSize: 10 },
        { ...stores, now: () => Date.parse(AT), previewBudgetMs: 20_000 },
      ),
  },
  {
    name: 'approval preview (export count)',
    order: 'O(members)',
    run: async (stores) => approvalPreview('scale', { ...stores, logger: new Logger({ logLevel: 'SILENT' }), now: () => Date.parse(AT) }),
  },
];

export async function run(options: { sizes?: number[] } = {}): Promise<BenchResult> {
  const sizes = options.sizes ?? [10_000, 100_000];
  const measured = new Map<string, PathFigures[]>();
  for (const size of sizes) {
    console.error(`scale: ${formatRate(size)} profiles`);
    const { bench, stores } = await population(size);
    try {
      for (const path of PATHS) {
        bench.reset();
        const start = process.hrtime.bigint();
        await path.run(stores);
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        const cost = bench.cost();
        measured.set(path.name, [
          ...(measured.get(path.name) ?? []),
          { seconds, calls: cost.reads + cost.writes, readUnits: cost.readUnits },
        ]);
      }
    } finally {
      await bench.stop();
    }
  }
  const figures: Record<string, number> = {};
  const units: Record<string, string> = {};
  const checks: NonNullable<BenchResult['checks']> = [];
  for (const path of PATHS) {
    const runs = measured.get(path.name)!;
    runs.forEach((f, i) => {
      const label = formatRate(sizes[i]!);
      for (const [what, value, unit] of [
        ['time', f.seconds * 1000, 'ms'],
        ['DynamoDB calls', f.calls, 'calls'],
        ['read units', f.readUnits, 'RU'],
      ] as const) {
        figures[`${path.name} at ${label}, ${what}`] = value;
        units[`${path.name} at ${label}, ${what}`] = unit;
      }
    });
    if (runs.length > 1) {
      // Growth per 10x population, from the read units (time follows the machine; units do not).
      const growth = (runs.at(-1)!.readUnits / Math.max(runs[0]!.readUnits, 1)) ** (1 / Math.log10(sizes.at(-1)! / sizes[0]!));
      const allowed = ORDERS[path.order] * 1.5;
      checks.push({
        name: `${path.name}, read units per 10x population`,
        value: growth,
        unit: 'x',
        target: `${path.order}: at most ${allowed}x`,
        met: growth <= allowed,
      });
    }
  }
  const flagged = checks.filter((c) => !c.met).map((c) => c.name.split(',')[0]);
  return {
    name: 'scale',
    description: `admin paths at ${sizes.map(formatRate).join(', ')} profiles (${SEGMENTS} segments of a tenth each, an audience with a 10 % holdout on one), DynamoDB calls, read units and time through the use cases on dynalite; ${flagged.length === 0 ? 'every path keeps its order' : `growing faster than their order: ${flagged.join(', ')}`}`,
    unit: '',
    figures,
    ratios: {},
    units,
    checks,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { sizes: { type: 'string' } } });
  printResult(await run({ sizes: values.sizes?.split(',').map(Number) }));
}
