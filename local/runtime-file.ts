/**
 * How other processes find a running `npm start`: `<data dir>/runtime.json`, written once it listens and
 * removed when it stops, and `<data dir>/credentials.json`, its keys. The command line and the demo read
 * them, so neither needs the URL, the port or the keys repeated.
 */

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export const DEFAULT_DATA_DIR = '.prisme-local';

export const dataDirOf = (option: string | undefined): string => option ?? process.env.PRISME_DATA_DIR ?? DEFAULT_DATA_DIR;

const runtimeFileSchema = z.object({
  pid: z.number().int(),
  url: z.string(),
  endpoints: z.object({ dynamodb: z.string(), s3: z.string(), sqs: z.string(), eventbridge: z.string() }),
  bucket: z.string(),
  queues: z.object({ events: z.string(), deadLetter: z.string() }),
});
export type RuntimeFile = z.infer<typeof runtimeFileSchema>;

const credentialsSchema = z.object({ writeKey: z.string(), adminToken: z.string() });
export type Credentials = z.infer<typeof credentialsSchema>;

const runtimePath = (dataDir: string) => join(dataDir, 'runtime.json');
const credentialsPath = (dataDir: string) => join(dataDir, 'credentials.json');

/** Written by the runtime once it listens; the returned function removes it. */
export function writeRuntimeFile(dataDir: string, runtime: RuntimeFile): () => void {
  writeFileSync(runtimePath(dataDir), JSON.stringify(runtime, null, 2));
  return () => rmSync(runtimePath(dataDir), { force: true });
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * The `npm start` running in `dataDir`; undefined when none was started there. One that left its file
 * behind (killed) is an error that says so, not a silent fall-back to AWS.
 */
export function findRuntime(dataDir: string): RuntimeFile | undefined {
  if (!existsSync(runtimePath(dataDir))) return undefined;
  const runtime = runtimeFileSchema.parse(JSON.parse(readFileSync(runtimePath(dataDir), 'utf8')));
  if (!isAlive(runtime.pid)) throw new Error(`the Prisme in ${dataDir} (process ${runtime.pid}) is not running: start it with npm start`);
  return runtime;
}

/** The keys `npm start` made or was given, from the environment first (as npm start reads them). */
export function localCredentials(dataDir: string): Partial<Credentials> {
  const saved = savedCredentials(dataDir);
  return {
    writeKey: process.env.PRISME_WRITE_KEY || saved.writeKey,
    adminToken: process.env.PRISME_ADMIN_TOKEN || saved.adminToken,
  };
}

export function saveCredentials(dataDir: string, credentials: Credentials): void {
  writeFileSync(credentialsPath(dataDir), JSON.stringify(credentials, null, 2), { mode: 0o600 });
}

/** The keys kept from an earlier start, if any. */
export function savedCredentials(dataDir: string): Partial<Credentials> {
  return existsSync(credentialsPath(dataDir))
    ? credentialsSchema.partial().parse(JSON.parse(readFileSync(credentialsPath(dataDir), 'utf8')))
    : {};
}
