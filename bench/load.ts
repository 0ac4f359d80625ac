/** Load for the end-to-end benchmark: events posted at a rate or flat out, a bare collector to compare ingest with, latencies to membership. */
import { readFileSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { LocalProcess } from './local-process';
import { type Workload, type WorkloadOptions, workload } from './workload';

export interface LoadResult {
  events: number;
  accepted: number;
  rejected: number;
  seconds: number;
  /** Per batch: index of its first event, its event count, when its 200 arrived (epoch ms). */
  batches: Array<{ first: number; count: number; acceptedAt: number }>;
  starts: Array<{ userId: string; index: number }>;
}

const basic = (writeKey: string) => `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Posts `stream` at `rate` events/s in batches for `seconds`, without waiting for answers (open loop). */
export async function postAtRate(
  url: string,
  writeKey: string,
  stream: Workload,
  options: { rate: number; seconds: number; batchSize: number },
): Promise<LoadResult> {
  const batchesPerSecond = options.rate / options.batchSize;
  const total = Math.round(batchesPerSecond * options.seconds);
  const result: LoadResult = { events: 0, accepted: 0, rejected: 0, seconds: 0, batches: [], starts: [] };
  const startsBefore = stream.starts.length;
  const inFlight: Promise<void>[] = [];
  const started = Date.now();
  for (let k = 0; k < total; k++) {
    const wait = started + (k * 1000) / batchesPerSecond - Date.now();
    if (wait > 0) await sleep(wait);
    const first = stream.emitted();
    const batch = Array.from({ length: options.batchSize }, () => stream.next());
    result.events += batch.length;
    inFlight.push(
      fetch(`${url}/v1/batch`, {
        method: 'POST',
        headers: { authorization: basic(writeKey), 'content-type': 'application/json' },
        body: JSON.stringify({ batch }),
      }).then(async (response) => {
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
  result.starts = stream.starts.slice(startsBefore);
  return result;
}

/**
 * Batches of 100 from `clients` concurrent clients, each posting the next as soon as one is answered;
 * gzip-compressed beforehand with `gzip` (as mobile and RudderStack clients send), so only the server's work is timed.
 */
export async function postFlatOut(
  url: string,
  writeKey: string,
  seconds: number,
  mix: Omit<WorkloadOptions, 'label'>,
  { clients = 8, gzip = false } = {},
): Promise<number> {
  const stream = workload({ label: `flat-${Date.now()}${gzip ? '-gzip' : ''}`, ...mix });
  const bodies = Array.from({ length: 50 }, () => {
    const body = JSON.stringify({ batch: Array.from({ length: 100 }, () => stream.next()) });
    return gzip ? gzipSync(body) : body;
  });
  const headers = { authorization: basic(writeKey), 'content-type': 'application/json', ...(gzip && { 'content-encoding': 'gzip' }) };
  let accepted = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = c; Date.now() < end; i += clients) {
        const response = await fetch(`${url}/v1/batch`, { method: 'POST', headers, body: bodies[i % bodies.length]! });
        await response.arrayBuffer();
        if (response.status === 200) accepted += 100;
      }
    }),
  );
  return accepted / seconds;
}

/** The peer: what any collector must do at least, parse the batch and make it durable before answering. */
export async function bareCollector(): Promise<{ url: string; stop: () => Promise<void> }> {
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
export async function entryLatencies(local: LocalProcess, load: LoadResult, samples = 200): Promise<number[]> {
  const acceptedAt = (index: number) => load.batches.find((b) => index >= b.first && index < b.first + b.count)?.acceptedAt;
  const step = Math.max(1, Math.floor(load.starts.length / samples));
  const entries = new Map<string, number>();
  for (const line of readFileSync(join(local.dataDir, 'events.jsonl'), 'utf8').split('\n')) {
    if (!line.includes('bench-visitors')) continue;
    const event = JSON.parse(line) as { 'detail-type': string; time: string; detail: { profileId: string; entered?: string[] } };
    if (event['detail-type'] === 'Segment Membership Changed' && event.detail.entered?.includes('bench-visitors')) {
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

export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
