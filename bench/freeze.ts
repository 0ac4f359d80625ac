/**
 * The daily freeze. In process, on generated profiles: the work of both passes (features, sketches,
 * moments and reservoir; the model fit; scores and clusters) at 10,000 and 100,000 profiles, to show it
 * grows linearly, against the naive freeze a first version would write (exact quintiles by sorting
 * every value, K-means over every profile), on the same data. Then end to end on dynalite through the
 * real handler, its workers and hand-offs, with the DynamoDB calls per profile counted on the client.
 *
 * Run alone: npx tsx bench/freeze.ts [--sizes 10000,100000] [--dynalite 5000]
 */

import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { kmeans } from 'ml-kmeans';
import { createFreezeHandler } from '#functions/freeze/freeze';
import { lambdaContext } from '#local/lambda-context';
import { DynamoCatalogStore } from '#shared/adapters/dynamodb/catalog-store';
import { DynamoFrozenStore } from '#shared/adapters/dynamodb/frozen-store';
import { DynamoMembershipStore } from '#shared/adapters/dynamodb/membership-store';
import { DynamoProfileStore } from '#shared/adapters/dynamodb/profile-store';
import { silhouette } from '#shared/domain/clustering';
import type { EnrichedEvent } from '#shared/domain/events';
import { foldEvents } from '#shared/domain/fold';
import { clusterInput, featuresOf, fitModel, Measure, scoreProfile, seededRandom as seeded } from '#shared/domain/frozen';
import { compileIndicators } from '#shared/domain/indicators';
import { compileRules, evaluateMemberships } from '#shared/domain/memberships';
import { newProfile, type Profile } from '#shared/domain/profile';
import { stageSegments } from '#shared/domain/stages';
import { DAY_MS } from '#shared/domain/time';
import type { DomainEvent } from '#shared/ports/event-publisher';
import { withManagedSegments } from '#shared/usecases/managed-segments';
import { ProfileWriter } from '#shared/usecases/profile-writer';
import { FREEZE_SCOPE } from '#shared/usecases/reevaluate';
import { benchDynamo } from './dynalite';
import { type BenchResult, formatRate, seededRandom } from './harness';

const NOW = Date.parse('2026-06-15T03:00:00.000Z');
const model = compileIndicators();
const catalog = compileRules(stageSegments(model), model);

/** A person of one of four habits: store regulars, online shoppers, email readers, browsers. */
function generate(count: number, seed: number): Profile[] {
  const random = seededRandom(seed);
  const profiles: Profile[] = [];
  for (let i = 0; i < count; i++) {
    const events: EnrichedEvent[] = [];
    const at = () => new Date(NOW - (1 + Math.floor(random() * 360)) * DAY_MS).toISOString();
    const event = (name: string, channel: EnrichedEvent['channel'], properties: Record<string, unknown> = {}): EnrichedEvent => ({
      messageId: `m${i}-${events.length}`,
      type: 'track',
      event: name,
      properties,
      traits: {},
      context: {},
      timestamp: at(),
      receivedAt: at(),
      channel,
      sourceId: 'bench',
    });
    const habit = i % 4;
    const n = 1 + Math.floor(random() * 8);
    for (let k = 0; k < n; k++) {
      if (habit === 0) events.push(event('Order Completed', 'store', { revenue: 20 + Math.round(random() * 200) }));
      else if (habit === 1)
        events.push(event('Order Completed', 'web', { revenue: 10 + Math.round(random() * 80) }), event('Product Viewed', 'web'));
      else if (habit === 2) events.push(event('Email Opened', 'email'), event('Email Link Clicked', 'email'));
      else events.push(event('Product Viewed', 'web'), event('Product Added', 'web', { price: 30 }));
    }
    const { profile } = foldEvents(
      newProfile(`p_${String(i).padStart(8, '0')}`, events[0]!.timestamp),
      events,
      [],
      NOW,
      catalog.specs,
      model.categoryRule,
      catalog.orders,
    );
    const { segments } = evaluateMemberships(profile, catalog.segments, NOW, undefined, 'events', model.valuesOf(profile, NOW));
    profiles.push({ ...profile, segments });
  }
  return profiles;
}

/**
 * Both passes of the freeze over in-memory profiles, as the workers run them. The passes are per
 * profile; fitting the model works on the bounded sample, so its cost does not grow with profiles.
 */
function freezeInProcess(profiles: readonly Profile[]): { passes: number; fit: number; heldBytes: number } {
  const measure = new Measure(model.settings.clusters.sampleSize, seeded('bench'));
  const measuring = time(() => {
    for (const profile of profiles) {
      const features = featuresOf(profile, NOW, model);
      if (features) measure.add(features);
    }
  });
  let fitted: ReturnType<typeof fitModel> | undefined;
  const fit = time(() => (fitted = fitModel(measure, model, seeded('fit'))));
  const scoring = time(() => {
    for (const profile of profiles) {
      const features = featuresOf(profile, NOW, model);
      if (features) scoreProfile(features, fitted!, model);
    }
  });
  // What a worker holds between the passes, whatever the number of profiles: sketches, moments, sample, customer rows.
  const held = Buffer.byteLength(JSON.stringify(measure.toJSON())) + Buffer.byteLength(JSON.stringify(measure.customerBase.toJSON()));
  return { passes: measuring + scoring, fit, heldBytes: held };
}

/** The naive freeze: every value sorted for exact quintiles, K-means and its silhouette over everyone. */
function freezeNaively(profiles: readonly Profile[]): { heldBytes: number } {
  const features = profiles.map((p) => featuresOf(p, NOW, model)).filter((f) => f !== undefined);
  const quintiles = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return [0.2, 0.4, 0.6, 0.8].map((q) => sorted[Math.floor(q * (sorted.length - 1))]!);
  };
  quintiles(features.map((f) => f.recencyDays));
  quintiles(features.map((f) => f.frequency));
  quintiles(features.map((f) => f.monetary));
  const inputs = features.map((f) => clusterInput(f.vector));
  const mean = inputs[0]!.map((_, j) => inputs.reduce((s, v) => s + v[j]!, 0) / inputs.length);
  const std = mean.map((m, j) => Math.sqrt(inputs.reduce((s, v) => s + (v[j]! - m) ** 2, 0) / inputs.length) || 1);
  const z = inputs.map((v) => v.map((x, j) => (x - mean[j]!) / std[j]!));
  let best = -Infinity;
  for (let k = 2; k <= 6; k++) {
    const result = kmeans(z, k, { initialization: 'kmeans++', seed: 1, maxIterations: 100 });
    // Even the naive version cannot afford a full quadratic silhouette: 2,000 points.
    const step = Math.max(1, Math.floor(z.length / 2000));
    const subset = z.map((_, i) => i).filter((i) => i % step === 0);
    best = Math.max(
      best,
      silhouette(
        subset.map((i) => z[i]!),
        subset.map((i) => result.clusters[i]!),
      ),
    );
  }
  if (best === -Infinity) throw new Error('no clusters');
  return { heldBytes: Buffer.byteLength(JSON.stringify(z)) };
}

const time = (work: () => void): number => {
  const start = process.hrtime.bigint();
  work();
  return Number(process.hrtime.bigint() - start) / 1e9;
};

/** The real handler on dynalite: a start, workers per scan segment, hand-offs; profiles/s and calls per profile. */
async function freezeOnDynalite(profiles: readonly Profile[]) {
  const { dynamo, cost, reset, stop } = await benchDynamo();
  const stores = {
    profiles: new DynamoProfileStore(dynamo, 'bench-profiles'),
    frozen: new DynamoFrozenStore(dynamo, 'bench-frozen'),
    catalog: withManagedSegments(new DynamoCatalogStore(dynamo, 'bench-catalog')),
    memberships: new DynamoMembershipStore(dynamo, 'bench-memberships'),
  };
  for (let i = 0; i < profiles.length; i += 50)
    await Promise.all(profiles.slice(i, i + 50).map((p) => stores.profiles.put({ ...p, version: 1 }, 0)));
  const published: DomainEvent[] = [];
  const logger = new Logger({ serviceName: 'bench', logLevel: 'SILENT' });
  const publisher = { publish: async (events: readonly DomainEvent[]) => void published.push(...events) };
  const handler = createFreezeHandler({
    ...stores,
    writer: new ProfileWriter({ ...stores, stats: stores.catalog, sizes: stores.catalog, publisher, logger, now: () => NOW }),
    publisher,
    logger,
    now: () => NOW,
    scanSegments: 4,
  });
  const freezeOnce = async () => {
    reset();
    const start = process.hrtime.bigint();
    let seen = published.length;
    await handler({ 'detail-type': 'Scheduled Event', detail: {} } as never, lambdaContext('freeze', 900_000));
    // The workers of a pass run side by side, as parallel Lambda invocations would.
    while (published.length > seen) {
      const next = published.slice(seen).filter((e) => e.detailType === 'Freeze Requested');
      seen = published.length;
      await Promise.all(
        next.map((e) => handler({ 'detail-type': 'Freeze Requested', detail: e.detail } as never, lambdaContext('freeze', 900_000))),
      );
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const record = (await stores.catalog.listRuns(FREEZE_SCOPE, 1))[0]!;
    if (record.status !== 'succeeded') throw new Error(`freeze run ${record.runId} ${record.status}: ${record.error}`);
    const used = cost();
    return {
      seconds,
      reads: used.reads / profiles.length,
      writes: used.writes / profiles.length,
      writeUnits: used.writeUnits / profiles.length,
      written: Number(record.progress?.frozenWritten),
    };
  };
  const first = await freezeOnce();
  const quiet = await freezeOnce(); // the next day, nothing changed
  await stop();
  return { first, quiet };
}

export async function run(options: { sizes?: number[]; dynalite?: number } = {}): Promise<BenchResult> {
  const sizes = options.sizes ?? [10_000, 100_000];
  const figures: Record<string, number> = {};
  const ratios: Record<string, number> = {};
  const seconds: number[] = [];
  freezeInProcess(generate(2_000, 3)); // warm-up: compile the hot paths before timing
  for (const size of sizes) {
    const profiles = generate(size, 7);
    const { passes, fit } = freezeInProcess(profiles);
    const prisme = passes + fit;
    seconds.push(passes);
    figures[`prisme profiles/s at ${formatRate(size)}`] = size / prisme;
    figures[`  of which model fit (s) at ${formatRate(size)}`] = fit;
    if (size === sizes.at(-1)) {
      let held = 0;
      const naive = time(() => void (held = freezeNaively(profiles).heldBytes));
      figures[`naive profiles/s at ${formatRate(size)}`] = size / naive;
      ratios['prisme vs naive freeze, speed'] = naive / prisme;
      ratios['naive vs prisme, memory held'] = held / freezeInProcess(profiles).heldBytes;
    }
  }
  // Linear: ten times the profiles, ten times the time of the passes (the fit stays constant).
  if (sizes.length > 1)
    ratios[`passes time ${formatRate(sizes.at(-1)!)} / ${formatRate(sizes[0]!)} (linear: ${sizes.at(-1)! / sizes[0]!})`] =
      seconds.at(-1)! / seconds[0]!;
  const onDynalite = await freezeOnDynalite(generate(options.dynalite ?? 5_000, 11));
  const n = options.dynalite ?? 5_000;
  figures[`dynalite profiles/s, first run`] = n / onDynalite.first.seconds;
  figures[`dynalite profiles/s, quiet day`] = n / onDynalite.quiet.seconds;
  figures['DynamoDB reads per profile, first run'] = onDynalite.first.reads;
  figures['DynamoDB writes per profile, first run'] = onDynalite.first.writes;
  figures['DynamoDB writes per profile, quiet day'] = onDynalite.quiet.writes;
  figures['DynamoDB write units per profile, first run'] = onDynalite.first.writeUnits;
  return {
    name: 'freeze',
    description: `both passes in process at ${sizes.map(formatRate).join(' and ')} generated profiles (4 habits) vs a naive freeze (exact sorts, K-means over everyone); then the real handler on dynalite over ${formatRate(n)} profiles, 4 scan segments`,
    unit: 'profiles/s',
    figures,
    ratios,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { sizes: { type: 'string' }, dynalite: { type: 'string' } } });
  const result = await run({
    sizes: values.sizes?.split(',').map(Number),
    dynalite: values.dynalite ? Number(values.dynalite) : undefined,
  });
  console.log(result.description);
  for (const [name, value] of Object.entries(result.figures))
    console.log(`${name.padEnd(40)} ${value >= 100 ? formatRate(value) : value.toFixed(2)}`);
  for (const [name, value] of Object.entries(result.ratios)) console.log(`${name.padEnd(40)} ${value.toFixed(2)}x`);
}
