/**
 * End to end on the local runtime (`npm start` as a child process, usage meter on):
 *
 * 1. Ingest alone (processors off): batches of 100 posted by 8 clients as fast as they are answered,
 *    against a bare durable collector (HTTP, JSON.parse, an fsync'd append) run in this process.
 * 2. Fixed rates (100, 500, 1,000 events/s) of the reference workload, batches of 20, open loop: accepted
 *    events/s, latency from the HTTP 200 to the membership being visible (the `Segment Membership
 *    Changed` event, published once the membership is written) for each session's first page view,
 *    and the process's peak memory.
 * 3. Cost: every AWS call the handlers made, priced per million events (cost-model.ts), for the
 *    reference workload and as batch size and profile size change.
 *
 * Run alone: npx tsx bench/end-to-end.ts [--seconds 15] [--rates 100,500,1000]
 */
import { createServer } from 'node:http';
import { open, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { costPerMillionEvents, type CostBreakdown } from './cost-model';
import type { BenchResult } from './harness';
import { startLocalProcess, type LocalProcess } from './local-process';
import { workload } from './workload';

const REFERENCE = { batchSize: 20, traits: 5, returning: 0.8 };
/** Segments a shop would run; the first one is the latency probe: every new session enters it. */
const SEGMENTS = {
  'bench-visitors': { type: 'event', event: 'Page Viewed', within: { days: 1 } },
  'bench-cart-abandoners': { type: 'and', conditions: [{ type: 'event', event: 'Product Added', within: { days: 1 } }, { type: 'not', condition: { type: 'event', event: 'Order Completed', within: { days: 1 } } }] },
  'bench-shoe-buyers': { type: 'event', event: 'Order Completed', where: [{ property: 'category', operator: 'eq', value: 'shoes' }], within: { days: 30 } },
  'bench-big-spenders': { type: 'event', event: 'Order Completed', aggregate: { fn: 'sum', property: 'revenue', operator: 'gte', value: 150 }, within: { days: 365 } },
  'bench-french': { type: 'trait', trait: 'attribute_0', operator: 'exists' },
};

interface LoadResult {
  events: number;
  accepted: number;
  rejected: number;
  seconds: number;
  /** Per batch: index of its first event, its event count, when its 200 arrived (epoch ms). */
  batches: Array<{ first: number; count: number; acceptedAt: number }>;
  starts: Array<{ userId: string; index: number }>;
}

const basic = (writeKey: string) => `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Posts the workload at `rate` events/s in batches for `seconds`, without waiting for answers (open loop). */
async function postAtRate(url: string, writeKey: string, options: { label: string; rate: number; seconds: number; batchSize: number; traits: number; returning: number }): Promise<LoadResult> {
  const stream = workload({ label: options.label, traits: options.traits, returning: options.returning });
  const batchesPerSecond = options.rate / options.batchSize;
  const total = Math.round(batchesPerSecond * options.seconds);
  const result: LoadResult = { events: 0, accepted: 0, rejected: 0, seconds: 0, batches: [], starts: stream.starts };
  const inFlight: Promise<void>[] = [];
  const started = Date.now();
  for (let k = 0; k < total; k++) {
    const wait = started + (k * 1000) / batchesPerSecond - Date.now();
    if (wait > 0) await sleep(wait);
    const first = stream.emitted();
    const batch = Array.from({ length: options.batchSize }, () => stream.next());
    result.events += batch.length;
    inFlight.push(
      fetch(`${url}/v1/batch`, { method: 'POST', headers: { authorization: basic(writeKey), 'content-type': 'application/json' }, body: JSON.stringify({ batch }) }).then(async (response) => {
        await response.arrayBuffer();
        if (response.status === 200) {
          result.accepted += batch.length;
          result.batches.push({ first, count: batch.length, acceptedAt: Date.now() });
        } else result.rejected += batch.length;
      }),
    );
  }
  await Promise.all(inFlight);
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

/** Batches of 100 from `clients` concurrent clients, each posting the next as soon as one is answered. */
async function postFlatOut(url: string, writeKey: string, seconds: number, clients = 8): Promise<number> {
  const stream = workload({ label: `flat-${Date.now()}`, ...REFERENCE });
  const bodies = Array.from({ length: 50 }, () => JSON.stringify({ batch: Array.from({ length: 100 }, () => stream.next()) }));
  let accepted = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = c; Date.now() < end; i += clients) {
        const response = await fetch(`${url}/v1/batch`, { method: 'POST', headers: { authorization: basic(writeKey), 'content-type': 'application/json' }, body: bodies[i % bodies.length]! });
        await response.arrayBuffer();
        if (response.status === 200) accepted += 100;
      }
    }),
  );
  return accepted / seconds;
}

/** The peer: what any collector must do at least, parse the batch and make it durable before answering. */
async function bareCollector(): Promise<{ url: string; stop: () => Promise<void> }> {
  const file = join(tmpdir(), `bare-collector-${process.pid}.jsonl`);
  const handle = await open(file, 'a');
  let tail = Promise.resolve();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const { batch } = JSON.parse(Buffer.concat(chunks).toString()) as { batch: unknown[] };
      const lines = batch.map((event) => JSON.stringify(event)).join('\n');
      tail = tail.then(async () => {
        await handle.write(`${lines}\n`);
        await handle.datasync();
      });
      void tail.then(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}'));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await new Promise((done) => server.close(done));
      await handle.close();
      await rm(file, { force: true });
    },
  };
}

/** Latency from each sampled session's acceptance to its entry in bench-visitors, ms, sorted. */
async function entryLatencies(local: LocalProcess, load: LoadResult, samples = 200): Promise<number[]> {
  const acceptedAt = (index: number) => load.batches.find((b) => index >= b.first && index < b.first + b.count)?.acceptedAt;
  const step = Math.max(1, Math.floor(load.starts.length / samples));
  const entries = new Map<string, number>();
  for (const line of readFileSync(join(local.dataDir, 'events.jsonl'), 'utf8').split('\n')) {
    if (!line.includes('bench-visitors')) continue;
    const event = JSON.parse(line) as { 'detail-type': string; time: string; detail: { segmentId: string; profileId: string; change: string } };
    if (event['detail-type'] === 'Segment Membership Changed' && event.detail.segmentId === 'bench-visitors' && event.detail.change === 'entered') {
      entries.set(event.detail.profileId, Date.parse(event.time));
    }
  }
  const latencies: number[] = [];
  for (let i = 0; i < load.starts.length; i += step) {
    const start = load.starts[i]!;
    const accepted = acceptedAt(start.index);
    if (accepted === undefined) continue;
    const profile = await local.admin.get(`/v1/profiles?userId=${encodeURIComponent(start.userId)}`);
    const entered = entries.get(profile.body?.profileId);
    if (entered !== undefined) latencies.push(entered - accepted);
  }
  return latencies.sort((a, b) => a - b);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** One priced run: the workload at a moderate rate, drained, its usage turned into dollars. */
async function pricedRun(local: LocalProcess, label: string, options: { rate: number; seconds: number; batchSize: number; traits: number; returning: number }): Promise<CostBreakdown & { load: LoadResult }> {
  await local.resetUsage();
  const logsBefore = local.logBytes();
  const load = await postAtRate(local.url, local.writeKey, { label, ...options });
  await local.drain();
  const usage = await local.usage();
  return { ...costPerMillionEvents(usage, load.accepted, local.logBytes() - logsBefore), load };
}

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
  const ingestRate = await postFlatOut(ingestOnly.url, ingestOnly.writeKey, Math.min(seconds, 8));
  await ingestOnly.stop();
  const bare = await bareCollector();
  const bareRate = await postFlatOut(bare.url, 'none', Math.min(seconds, 8));
  await bare.stop();
  figures['ingest alone events/s'] = ingestRate;
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
    await postAtRate(local.url, local.writeKey, { label: 'warm', rate: 200, seconds: 2, ...REFERENCE });
    await local.drain();

    let reference: (CostBreakdown & { load: LoadResult }) | undefined;
    for (const rate of rates) {
      progress(`${rate} events/s for ${seconds} s`);
      const run = await pricedRun(local, `r${rate}`, { rate, seconds, ...REFERENCE });
      const latencies = await entryLatencies(local, run.load);
      figures[`accepted events/s @${rate}`] = run.load.accepted / run.load.seconds;
      for (const p of [50, 95, 99]) {
        figures[`p${p} to membership @${rate}`] = percentile(latencies, p);
        units[`p${p} to membership @${rate}`] = 'ms';
      }
      if (run.load.rejected > 0) figures[`rejected events @${rate}`] = run.load.rejected;
      if (rate === 500 || !reference) reference = run;
    }
    figures['peak memory of the local process'] = local.peakMemoryMb();
    units['peak memory of the local process'] = 'MB';

    // 3. Cost: the reference run's lines, then batch size and profile size.
    const ref = reference!;
    figures['$ per million events (reference)'] = ref.dollarsPerMillion;
    units['$ per million events (reference)'] = '$';
    const bytesPerEvent = Math.round(JSON.stringify(workloadSample()).length / 20);
    table.push(`cost per million events, reference workload (batches of ${REFERENCE.batchSize}, ~${bytesPerEvent} B events, sessions of 4-5 events, ${REFERENCE.returning * 100} % by returning people, new people with ${REFERENCE.traits} traits), us-east-1 list prices:`);
    for (const line of ref.lines) table.push(`  ${line.item.padEnd(36)} ${line.perEvent.toPrecision(3).padStart(10)} ${line.unit.padEnd(9)} per event  $${line.dollarsPerMillion.toFixed(4)}`);
    table.push(`  ${'total'.padEnd(36)} ${''.padStart(30)} $${ref.dollarsPerMillion.toFixed(4)}`);
    table.push(`cost per million events as one parameter of the reference moves (200 events/s, ${sweepSeconds} s each):`);
    const sweep = async (label: string, change: Partial<typeof REFERENCE>, describe: (run: CostBreakdown & { load: LoadResult }) => Promise<string> | string) => {
      progress(`cost with ${label}`);
      const run = await pricedRun(local, label.replace(/\W+/g, '-'), { rate: 200, seconds: sweepSeconds, ...REFERENCE, ...change });
      table.push(`  ${label.padEnd(24)} $${run.dollarsPerMillion.toFixed(3)}   (${await describe(run)})`);
    };
    for (const batchSize of [1, 5, 20, 100]) {
      await sweep(`batches of ${batchSize}`, { batchSize }, (run) => `${lineOf(run, 'API Gateway')} API, ${lineOf(run, 'Lambda requests')} Lambda requests, ${lineOf(run, 'DynamoDB write')} DynamoDB writes`);
    }
    for (const traits of [0, 20, 60]) {
      await sweep(`${traits} traits a profile`, { traits }, async (run) => {
        const profile = await local.admin.get(`/v1/profiles?userId=${encodeURIComponent(run.load.starts[0]!.userId)}`);
        return `~${(JSON.stringify(profile.body?.traits ?? {}).length / 1024).toFixed(1)} KB of traits, ${lineOf(run, 'DynamoDB write')} DynamoDB writes, ${lineOf(run, 'DynamoDB read')} reads`;
      });
    }
    for (const returning of [0.5, 0.95]) {
      await sweep(`${Math.round(returning * 100)} % returning people`, { returning }, (run) => `${lineOf(run, 'DynamoDB write')} DynamoDB writes, ${lineOf(run, 'EventBridge')} EventBridge`);
    }
  } finally {
    await local.stop();
  }

  const p95 = figures['p95 to membership @500'];
  const cost = figures['$ per million events (reference)']!;
  return {
    name: 'end-to-end',
    description: `the local runtime as a child process (dynalite, s3rver, durable queue), ${seconds} s per rate, open loop, batches of ${REFERENCE.batchSize}`,
    unit: 'events/s',
    figures,
    units,
    ratios: { 'ingest / bare durable collector': ingestRate / bareRate },
    checks: [
      { name: 'ingest alone', value: ingestRate, unit: 'events/s', target: '>= 5,000', met: ingestRate >= 5000 },
      ...(p95 === undefined ? [] : [{ name: 'p95 to membership at 500 events/s', value: p95, unit: 'ms', target: '< 1,000', met: p95 < 1000 }]),
      { name: 'cost, reference workload', value: cost, unit: '$ per million events', target: '<= 0.40', met: cost <= 0.4 },
    ],
    table,
  };
}

const lineOf = (run: CostBreakdown, prefix: string) => `$${(run.lines.find((l) => l.item.startsWith(prefix))?.dollarsPerMillion ?? 0).toFixed(3)}`;
const workloadSample = () => {
  const stream = workload({ label: 'size', traits: REFERENCE.traits });
  return Array.from({ length: 20 }, () => stream.next());
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { seconds: { type: 'string' }, rates: { type: 'string' }, 'sweep-seconds': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(`Usage: npx tsx bench/end-to-end.ts [--seconds 15] [--rates 100,500,1000] [--sweep-seconds 5]

Starts npm start as a child process, measures ingest alone, then posts the reference workload at each
rate for --seconds (latency to a visible membership, peak memory) and prices the AWS calls counted;
then the cost as batch size, profile size and the share of returning people move (--sweep-seconds each).`);
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
