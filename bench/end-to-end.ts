/**
 * End to end on the local runtime (`npm start` as a child process, usage meter on):
 *
 * 1. Ingest alone (processors off): batches of 100 posted by 8 clients as fast as they are answered,
 *    against a bare durable collector (HTTP, JSON.parse, an fsync'd append) run in this process.
 * 2. Fixed rates (100, 500, 1,000 events/s) of a shop's mix (one session in five by a new person),
 *    batches of 20, open loop: accepted events/s, latency from the HTTP 200 to the membership being
 *    visible (the `Segment Membership Changed` event, published just before the membership item is
 *    written) for each new person's first page view, and the process's peak memory.
 * 3. Cost: every AWS call the handlers made, priced per million events (cost-model.ts): the reference
 *    workload (sessions by people seen before), split into what events cost and what membership
 *    changes cost; what a new person adds; the shop's mix against what those three predict; and the
 *    cost as batch size, profile size, carts and the share of new people move.
 *
 * Run alone: npx tsx bench/end-to-end.ts [--seconds 15] [--rates 100,500,1000]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { summariseMetrics } from '#local/metrics-summary';
import { ALARMS } from '#shared/alarms';
import { type CostBreakdown, costPerMillionEvents, monitoringPerMonth } from './cost-model';
import type { BenchResult } from './harness';
import { bareCollector, entryLatencies, type LoadResult, percentile, postAtRate, postFlatOut, sleep } from './load';
import { type LocalProcess, startLocalProcess } from './local-process';
import { workload } from './workload';

interface Mix {
  batchSize: number;
  /** Traits sent when a person first identifies: the profile's size. */
  traits: number;
  /** Share of sessions by people seen before. */
  returning: number;
  /** People created before the measured part (not priced), whom returning sessions pick from. */
  knownPeople: number;
  /** Share of sessions that add to cart, and of those that order: what moves people between segments. */
  cartRate: number;
  orderRate: number;
}

/**
 * The cost target's reference: sessions of several events by people seen before, batches of 20, about
 * 1 KB events, 7 % of sessions adding to cart and 30 % of those ordering. Each new person adds a cost
 * of its own (identifiers claimed, first memberships), priced apart per person, and in the shop's mix.
 */
/** Metric series only the daily and scheduled jobs write, which the load runs do not: see `monitoringPerMonth`. */
const JOB_SERIES = 10;

const REFERENCE: Mix = { batchSize: 20, traits: 5, returning: 1, knownPeople: 1000, cartRate: 0.07, orderRate: 0.3 };

/** A shop's traffic: one session in five by a new person, whose first page view is the latency probe. */
const SHOP: Mix = { ...REFERENCE, returning: 0.8 };

/** Segments a shop would run; the first one is the latency probe: every new session enters it. */
const SEGMENTS = {
  'bench-visitors': { type: 'event', event: 'Page Viewed', within: { days: 1 } },
  'bench-cart-abandoners': {
    type: 'and',
    conditions: [
      { type: 'event', event: 'Product Added', within: { days: 1 } },
      { type: 'not', condition: { type: 'event', event: 'Order Completed', within: { days: 1 } } },
    ],
  },
  'bench-shoe-buyers': {
    type: 'event',
    event: 'Order Completed',
    where: [{ property: 'category', operator: 'eq', value: 'shoes' }],
    within: { days: 30 },
  },
  'bench-big-spenders': {
    type: 'event',
    event: 'Order Completed',
    aggregate: { fn: 'sum', property: 'revenue', operator: 'gte', value: 150 },
    within: { days: 365 },
  },
  'bench-french': { type: 'trait', trait: 'attribute_0', operator: 'exists' },
};

/**
 * People seen before, for returning sessions to pick from: `count` people with `traits` traits, each
 * with two sessions already (the second makes most of them warm prospects), so what a run measures is
 * a customer's next visit, not the one-off moves of a first return. Made once per trait count.
 */
async function seasonedPool(local: LocalProcess, traits: number, count: number): Promise<readonly string[]> {
  const cached = pools.get(`${traits}/${count}`);
  if (cached) return cached;
  process.stderr.write(`  end-to-end: ${count} people seen before, with ${traits} traits and two sessions each (not priced)\n`);
  const stream = workload({ label: `pool-t${traits}`, traits, returning: 0, cartRate: REFERENCE.cartRate, orderRate: REFERENCE.orderRate });
  const sessionEvents = 4.5;
  for (const returning of [0, 1]) {
    stream.setReturning(returning);
    await postAtRate(local.url, local.writeKey, stream, { rate: 1500, seconds: (count * sessionEvents) / 1500, batchSize: 20 });
    await local.drain();
  }
  const pool = stream.known();
  pools.set(`${traits}/${count}`, pool);
  return pool;
}

const pools = new Map<string, readonly string[]>();

/** One priced run: the mix at `rate` for `seconds` (returning sessions from a seasoned pool), drained, its usage turned into dollars. */
async function pricedRun(local: LocalProcess, label: string, options: Mix & { rate: number; seconds: number }): Promise<PricedRun> {
  const known = options.knownPeople > 0 ? await seasonedPool(local, options.traits, options.knownPeople) : [];
  const stream = workload({
    label,
    known,
    traits: options.traits,
    returning: options.returning,
    cartRate: options.cartRate,
    orderRate: options.orderRate,
  });
  const peopleBefore = stream.people();
  await local.resetUsage();
  const since = new Date().toISOString();
  const logsBefore = local.logBytes();
  const load = await postAtRate(local.url, local.writeKey, stream, options);
  await local.drain();
  const usage = await local.usage();
  const newPeople = stream.people() - peopleBefore;
  const cost = costPerMillionEvents(usage, load.accepted, local.logBytes() - logsBefore);
  return { ...cost, load, newPeople, changes: membershipChangesSince(local, since), firstPerson: known[0] ?? stream.starts[0]?.userId };
}

/** Segments entered and left since `since` (ISO time), from the local bus's log. */
function membershipChangesSince(local: LocalProcess, since: string): number {
  let changes = 0;
  for (const line of readFileSync(join(local.dataDir, 'events.jsonl'), 'utf8').split('\n')) {
    if (!line.includes('Segment Membership Changed')) continue;
    const event = JSON.parse(line) as { time: string; detail: { entered: string[]; exited: string[] } };
    if (event.time >= since) changes += event.detail.entered.length + event.detail.exited.length;
  }
  return changes;
}

type PricedRun = CostBreakdown & {
  load: LoadResult;
  /** People first seen in the priced part. */
  newPeople: number;
  /** Segments entered and left in the priced part. */
  changes: number;
  /** A person of the run (of its pool first), to look at a profile of this run. */
  firstPerson?: string;
};

export async function run(options: { seconds?: number; rates?: number[]; sweepSeconds?: number } = {}): Promise<BenchResult> {
  const seconds = options.seconds ?? 15;
  const rates = options.rates ?? [100, 500, 1000];
  const sweepSeconds = options.sweepSeconds ?? 5;
  const figures: BenchResult['figures'] = {};
  const units: Record<string, string> = {};
  const table: string[] = [];
  const progress = (message: string) => process.stderr.write(`  end-to-end: ${message}\n`);

  // 1. Ingest alone, and the bare collector on the same batches.
  progress('ingest alone (processors off)');
  const ingestOnly = await startLocalProcess({ PRISME_PROCESSORS: '0' });
  const ingestRate = await postFlatOut(ingestOnly.url, ingestOnly.writeKey, Math.min(seconds, 8), SHOP);
  const gzipRate = await postFlatOut(ingestOnly.url, ingestOnly.writeKey, Math.min(seconds, 8), SHOP, { gzip: true });
  await ingestOnly.stop();
  const bare = await bareCollector();
  const bareRate = await postFlatOut(bare.url, 'none', Math.min(seconds, 8), SHOP);
  await bare.stop();
  figures['ingest alone events/s'] = ingestRate;
  figures['ingest alone, gzip bodies events/s'] = gzipRate;
  figures['bare durable collector events/s'] = bareRate;

  // 2. Fixed rates, latency to membership, peak memory.
  const local = await startLocalProcess();
  try {
    for (const [id, condition] of Object.entries(SEGMENTS)) {
      const saved = await local.admin.put(`/v1/segments/${id}`, { name: id, condition });
      if (saved.status >= 300) throw new Error(`segment ${id}: ${JSON.stringify(saved.body)}`);
    }
    for (const id of Object.keys(SEGMENTS)) {
      for (let end = Date.now() + 60_000; (await local.admin.get(`/v1/segments/${id}`)).body.status !== 'ready'; ) {
        if (Date.now() > end) throw new Error(`segment ${id} not ready`);
        await sleep(200);
      }
    }
    let shop: PricedRun | undefined;
    for (const rate of rates) {
      progress(`${rate} events/s for ${seconds} s (shop mix)`);
      const priced = await pricedRun(local, `r${rate}`, { rate, seconds, ...SHOP });
      const latencies = await entryLatencies(local, priced.load);
      figures[`accepted events/s @${rate}`] = priced.load.accepted / priced.load.seconds;
      for (const p of [50, 95, 99]) {
        figures[`p${p} to membership @${rate}`] = percentile(latencies, p);
        units[`p${p} to membership @${rate}`] = 'ms';
      }
      if (priced.load.rejected > 0) figures[`rejected events @${rate}`] = priced.load.rejected;
      if (rate === 500 || !shop) shop = priced;
    }
    figures['peak memory of the local process'] = local.peakMemoryMb();
    units['peak memory of the local process'] = 'MB';

    // 3. Cost: the reference's lines, split into what events cost and what membership changes cost; the
    // shop's mix; what a new person adds; then batch size, profile size, carts and new people.
    progress(`cost reference: 500 events/s for ${seconds} s`);
    const ref = await pricedRun(local, 'reference', { rate: 500, seconds, ...REFERENCE });
    const bytesPerEvent = Math.round(JSON.stringify(workloadSample()).length / 20);
    const lines = (priced: PricedRun, title: string) => {
      table.push(title);
      for (const line of priced.lines)
        table.push(
          `  ${line.item.padEnd(36)} ${line.perEvent.toPrecision(3).padStart(10)} ${line.unit.padEnd(9)} per event  $${line.dollarsPerMillion.toFixed(4)}`,
        );
      table.push(`  ${'total'.padEnd(36)} ${''.padStart(30)} $${priced.dollarsPerMillion.toFixed(4)}`);
      table.push(
        `  ${'of which membership changes'.padEnd(36)} ${(priced.changes / priced.load.accepted).toPrecision(3).padStart(10)} ${'changes'.padEnd(9)} per event  $${priced.membershipChanges.toFixed(4)}`,
      );
    };
    lines(
      ref,
      `cost per million events, reference workload (batches of ${REFERENCE.batchSize}, ~${bytesPerEvent} B events, sessions of 4-5 events by ${REFERENCE.knownPeople} people seen before, each with ${REFERENCE.traits} traits; ${Math.round(REFERENCE.cartRate * 100)} % of sessions add to cart), us-east-1 list prices:`,
    );
    const eventsAlone = ref.dollarsPerMillion - ref.membershipChanges;
    const perChange = ref.changes > 0 ? (ref.membershipChanges / 1e6) * (ref.load.accepted / ref.changes) : NaN;
    figures['$ per million events, all in (reference)'] = ref.dollarsPerMillion;
    figures['$ per million events, events alone (reference)'] = eventsAlone;
    figures['$ per million membership changes'] = perChange * 1e6;
    for (const name of [
      '$ per million events, all in (reference)',
      '$ per million events, events alone (reference)',
      '$ per million membership changes',
    ])
      units[name] = '$';

    table.push(`cost per million events as one parameter of the reference moves (200 events/s, ${sweepSeconds} s each):`);
    const sweep = async (label: string, change: Partial<Mix>, describe: (priced: PricedRun) => Promise<string> | string) => {
      progress(`cost with ${label}`);
      const priced = await pricedRun(local, label.replace(/\W+/g, '-'), { rate: 200, seconds: sweepSeconds, ...REFERENCE, ...change });
      const eventsPart = priced.dollarsPerMillion - priced.membershipChanges;
      table.push(
        `  ${label.padEnd(28)} $${priced.dollarsPerMillion.toFixed(3)} = $${eventsPart.toFixed(3)} events + $${priced.membershipChanges.toFixed(3)} changes   (${await describe(priced)})`,
      );
      return priced;
    };
    const atReference: Record<number, PricedRun> = {};
    for (const batchSize of [1, 5, 20, 100]) {
      atReference[batchSize] = await sweep(
        `batches of ${batchSize}`,
        { batchSize },
        (priced) =>
          `${lineOf(priced, 'API Gateway')} API, ${lineOf(priced, 'Lambda requests')} Lambda requests, ${lineOf(priced, 'DynamoDB write')} DynamoDB writes`,
      );
    }
    for (const traits of [0, 20, 60]) {
      await sweep(`people with ${traits} traits`, { traits }, async (priced) => {
        const profile = await local.admin.get(`/v1/profiles?userId=${encodeURIComponent(priced.firstPerson!)}`);
        return `~${(JSON.stringify(profile.body?.traits ?? {}).length / 1024).toFixed(1)} KB of traits, ${lineOf(priced, 'DynamoDB write')} DynamoDB writes, ${lineOf(priced, 'DynamoDB read')} reads`;
      });
    }
    for (const [cartRate, orderRate] of [
      [0.3, 0.3],
      [1, 0.5],
    ] as const) {
      await sweep(
        `${Math.round(cartRate * 100)} % carts, ${Math.round(orderRate * 100)} % ordered`,
        { cartRate, orderRate },
        (priced) => `${(priced.changes / priced.load.accepted).toFixed(3)} changes per event`,
      );
    }
    let everyoneNew: PricedRun | undefined;
    for (const returning of [0.95, 0.8, 0.5, 0]) {
      const priced = await sweep(
        `${Math.round(returning * 100)} % returning people`,
        { returning },
        (swept) =>
          `${swept.newPeople} new people in ${swept.load.accepted} events, ${(swept.changes / swept.load.accepted).toFixed(3)} changes per event`,
      );
      if (returning === 0) everyoneNew = priced;
    }
    // What a new person adds beyond its events and its membership changes (identifiers claimed, its
    // archive key, a first write): the all-new run's remainder above the events' cost at the same rate.
    const base = atReference[20]!;
    const remainder = everyoneNew!.dollarsPerMillion - everyoneNew!.membershipChanges - (base.dollarsPerMillion - base.membershipChanges);
    const perNewPerson = (remainder / 1e6) * (everyoneNew!.load.accepted / everyoneNew!.newPeople);
    figures['$ per million new people'] = perNewPerson * 1e6;
    units['$ per million new people'] = '$';
    table.push(
      `a bill, per million events: $${eventsAlone.toFixed(2)} + $${(perChange * 1e6).toFixed(2)} per million membership changes + $${(perNewPerson * 1e6).toFixed(2)} per million new people`,
    );
    // Metric series the run wrote (ingest, processor), and those only the jobs write (freeze: runs,
    // duration, profiles, changes; snapshots: published and held runs, rows; sweep: lag, due, changes).
    const series = (await summariseMetrics(join(local.dataDir, 'metrics.jsonl'))).length + JOB_SERIES;
    const month = monitoringPerMonth(series);
    figures['$ per month, monitoring'] = month.total;
    units['$ per month, monitoring'] = '$';
    table.push(
      `monitoring, a month whatever the traffic: ${Object.keys(ALARMS).length} alarms $${month.alarms.toFixed(2)}, the dashboard $${month.dashboard.toFixed(2)}, ${series} metric series $${month.metrics.toFixed(2)}: $${month.total.toFixed(2)}`,
    );
    if (shop) {
      const predicted =
        eventsAlone + perChange * 1e6 * (shop.changes / shop.load.accepted) + perNewPerson * 1e6 * (shop.newPeople / shop.load.accepted);
      lines(
        shop,
        `cost per million events, shop mix at 500 events/s (${SHOP.returning * 100} % of sessions by returning people: ${shop.newPeople} new people and ${shop.changes} membership changes in ${shop.load.accepted} events; the bill above predicts $${predicted.toFixed(3)}):`,
      );
      figures['$ per million events, all in (shop mix)'] = shop.dollarsPerMillion;
      units['$ per million events, all in (shop mix)'] = '$';
    }
  } finally {
    await local.stop();
  }

  const p95 = figures['p95 to membership @500'];
  const cost = figures['$ per million events, events alone (reference)']!;
  return {
    name: 'end-to-end',
    description: `the local runtime as a child process (dynalite, s3rver, durable queue), ${seconds} s per rate, open loop, batches of ${REFERENCE.batchSize}`,
    unit: 'events/s',
    figures,
    units,
    ratios: { 'ingest / bare durable collector': ingestRate / bareRate, 'ingest gzip / ingest JSON': gzipRate / ingestRate },
    checks: [
      { name: 'ingest alone', value: ingestRate, unit: 'events/s', target: '>= 5,000', met: ingestRate >= 5000 },
      ...(p95 === undefined
        ? []
        : [{ name: 'p95 to membership at 500 events/s', value: p95, unit: 'ms', target: '< 1,000', met: p95 < 1000 }]),
      {
        name: 'cost of events, reference workload (membership changes priced per change)',
        value: cost,
        unit: '$ per million events',
        target: '<= 0.40',
        met: cost <= 0.4,
      },
    ],
    table,
  };
}

const lineOf = (priced: CostBreakdown, prefix: string) =>
  `$${(priced.lines.find((l) => l.item.startsWith(prefix))?.dollarsPerMillion ?? 0).toFixed(3)}`;

const workloadSample = () => {
  const stream = workload({ label: 'size', ...SHOP });
  return Array.from({ length: 20 }, () => stream.next());
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string' },
      rates: { type: 'string' },
      'sweep-seconds': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(`Usage: npx tsx bench/end-to-end.ts [--seconds 15] [--rates 100,500,1000] [--sweep-seconds 5]

Starts npm start as a child process, measures ingest alone, then posts a shop's mix at each rate for
--seconds (latency to a visible membership, peak memory); prices the AWS calls of the reference workload
(sessions by 1,000 people seen before, made first and not priced), split into events and membership
changes; then the cost as batch size, profile size, carts and the share of new people move
(--sweep-seconds each), and what a new person adds.`);
    process.exit(0);
  }
  const result = await run({
    seconds: values.seconds ? Number(values.seconds) : undefined,
    rates: values.rates ? values.rates.split(',').map(Number) : undefined,
    sweepSeconds: values['sweep-seconds'] ? Number(values['sweep-seconds']) : undefined,
  });
  const { printResult } = await import('./harness');
  printResult(result);
}
