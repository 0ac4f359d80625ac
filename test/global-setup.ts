/**
 * Starts the real emulators once for the whole run: dynalite (DynamoDB API, in
 * memory) and s3rver (S3 API, in a temp folder). Integration tests reach them
 * through the real AWS SDK; each test file makes its own uniquely named tables.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    s3Endpoint: string;
  }
}

export default async function setup(project: TestProject) {
  const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((done) => dynamo.listen(0, '127.0.0.1', done));
  const s3Dir = mkdtempSync(join(tmpdir(), 'prisme-s3-'));
  const s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3Dir });
  const { port: s3Port } = await s3.run();

  project.provide('dynamoEndpoint', `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`);
  project.provide('s3Endpoint', `http://127.0.0.1:${s3Port}`);

  return async () => {
    await new Promise<void>((done) => dynamo.close(() => done()));
    await s3.close();
    rmSync(s3Dir, { recursive: true, force: true });
  };
}
