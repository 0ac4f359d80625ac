import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { type LocalOptions, type LocalRuntime, startLocal } from '#local/runtime';

/** A local runtime in a fresh data folder, quiet, with fast retries. */
export async function startTestRuntime(options: Partial<LocalOptions> = {}): Promise<LocalRuntime> {
  return startLocal({
    dataDir: mkdtempSync(join(tmpdir(), 'prisme-e2e-')),
    port: 0,
    schedules: false,
    visibilityTimeoutMs: 1000,
    // Tests post a few events at a time: waiting for fuller batches would only slow them.
    batchingWindowMs: 0,
    segmentCacheTtlMs: 0,
    sourceCacheTtlMs: 0,
    logLevel: 'SILENT',
    ...options,
  });
}

/** A local runtime for the tests of one file: started before them, stopped after. */
export function useTestRuntime(options: Partial<LocalOptions> = {}): () => LocalRuntime {
  let runtime: LocalRuntime | undefined;
  beforeAll(async () => {
    runtime = await startTestRuntime(options);
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
  });
  return () => runtime!;
}

export { adminClient } from '#local/admin-client';

export async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
