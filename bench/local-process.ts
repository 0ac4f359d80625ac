/**
 * `npm start` as a child process for the end-to-end benchmark: its own data folder, its usage meter
 * on, the bytes it logs counted, its peak memory read from the kernel (VmHWM).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { adminClient } from '#local/admin-client';
import { type Credentials, findRuntime, savedCredentials } from '#local/runtime-file';
import type { Usage } from '#local/usage-meter';

export interface LocalProcess {
  url: string;
  writeKey: string;
  adminToken: string;
  dataDir: string;
  /**
   * Bytes the handlers logged so far: their JSON logs on stdout and stderr, and the metrics (EMF
   * documents, which on AWS are log lines too) the runtime writes to its data folder.
   */
  logBytes(): number;
  /** Peak resident memory of the process so far, MB. */
  peakMemoryMb(): number;
  usage(): Promise<Usage>;
  resetUsage(): Promise<void>;
  /** Waits until the event queue is empty and nothing is in flight. */
  drain(timeoutMs?: number): Promise<void>;
  admin: ReturnType<typeof adminClient>;
  stop(): Promise<void>;
}

export async function startLocalProcess(env: Record<string, string> = {}): Promise<LocalProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'prisme-bench-'));
  const root = resolve(import.meta.dirname, '..');
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', PRISME_DATA_DIR: dataDir, PRISME_USAGE_METER: '1', LOG_LEVEL: 'INFO', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logBytes = 0;
  let lastOutput = '';
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.on('data', (chunk: Buffer) => {
      logBytes += chunk.length;
      lastOutput = (lastOutput + chunk.toString()).slice(-2000);
    });
  }
  const exited = new Promise<number | null>((done) => child.once('exit', done));

  const deadline = Date.now() + 60_000;
  let runtime = findRuntime(dataDir);
  while (!runtime) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`local runtime did not start: ${lastOutput}`);
    await new Promise((done) => setTimeout(done, 100));
    runtime = findRuntime(dataDir);
  }
  const { url } = runtime;
  const { writeKey, adminToken } = savedCredentials(dataDir) as Credentials;

  const getJson = async (path: string, method = 'GET') => (await fetch(`${url}${path}`, { method })).json();
  return {
    url,
    writeKey,
    adminToken,
    dataDir,
    logBytes: () => logBytes + (existsSync(join(dataDir, 'metrics.jsonl')) ? statSync(join(dataDir, 'metrics.jsonl')).size : 0),
    peakMemoryMb: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
    },
    usage: async () => (await getJson('/local/usage')) as Usage,
    resetUsage: async () => void (await getJson('/local/usage', 'DELETE')),
    async drain(timeoutMs = 300_000) {
      const end = Date.now() + timeoutMs;
      for (let quiet = 0; quiet < 3; ) {
        if (Date.now() > end) throw new Error('the local runtime did not drain in time');
        await new Promise((done) => setTimeout(done, 100));
        const { queue } = (await getJson('/health')) as { queue: { messages: number; inFlight: number } };
        quiet = queue.messages === 0 && queue.inFlight === 0 ? quiet + 1 : 0;
      }
    },
    admin: adminClient({ url, adminToken }),
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
