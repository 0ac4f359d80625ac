/** A private dynalite for a benchmark, Prisme's tables created, and the DynamoDB calls counted on the SDK client. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { AddressInfo } from 'node:net';
import { createTables } from '../local/bootstrap';
import { documentClient } from '../shared/adapters/clients';

const READS = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'ScanCommand']);
const WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand']);

export async function benchDynamo() {
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const raw = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  await createTables(raw, (table) => `bench-${table}`);
  const calls = { reads: 0, writes: 0, counting: true };
  raw.middlewareStack.add(
    (next, context) => async (args) => {
      if (calls.counting && READS.has(context.commandName!)) calls.reads++;
      if (calls.counting && WRITES.has(context.commandName!)) calls.writes++;
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  return {
    dynamo: documentClient(raw),
    calls,
    stop: async () => {
      raw.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
