/**
 * A private dynalite for a benchmark, Prisme's tables created, and what the DynamoDB calls cost counted
 * on the SDK client by the local runtime's usage meter: calls by operation and request units.
 */

import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createTables } from '#local/bootstrap';
import { type Usage, UsageMeter } from '#local/usage-meter';
import { documentClient } from '#shared/adapters/clients';

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

/** Calls and request units in a usage, over all tables. */
export function dynamoCost(usage: Usage): { reads: number; writes: number; readUnits: number; writeUnits: number } {
  const calls = (operations: Set<string>) =>
    Object.entries(usage.calls).reduce(
      (sum, [key, n]) => sum + (operations.has(key.replace(/^DynamoDB\./, '')) && key.startsWith('DynamoDB.') ? n : 0),
      0,
    );
  const tables = Object.values(usage.dynamodb);
  return {
    reads: calls(READS),
    writes: calls(WRITES),
    readUnits: tables.reduce((sum, t) => sum + t.readUnits, 0),
    writeUnits: tables.reduce((sum, t) => sum + t.writeUnits + t.indexWrites, 0),
  };
}

export async function benchDynamo() {
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const raw = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  await createTables(raw, (table) => `bench-${table}`);
  const meter = new UsageMeter();
  meter.instrument(raw, 'DynamoDB');
  return {
    dynamo: documentClient(raw),
    /** What the calls since the last reset cost. */
    cost: () => dynamoCost(meter.read()),
    reset: () => meter.reset(),
    stop: async () => {
      raw.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
