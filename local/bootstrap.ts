/** Creates Prisme's tables from `shared/resources.ts`: used by the local runtime and the integration tests. */

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ListTablesCommand,
  ResourceNotFoundException,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { type TableDefinition, type TableName, tables } from '#shared/resources';

export interface BootstrapOptions {
  /**
   * Where a table rebuilt to gain an index keeps its items meanwhile (dynalite cannot add an index to
   * a table that exists): a crash mid-rebuild loses nothing, the next start resumes from the dump.
   */
  rebuildDir?: string;
  log?: (message: string) => void;
}

/**
 * Creates the missing tables, gives existing ones the indexes a newer version defines, and returns once
 * every table is ACTIVE: dynalite, like DynamoDB, answers ResourceNotFoundException to item calls on a
 * table still CREATING, even with createTableMs: 0.
 */
export async function createTables(
  client: DynamoDBClient,
  nameOf: (table: TableName) => string,
  options: BootstrapOptions = {},
): Promise<void> {
  const existing = new Set<string>();
  let start: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    for (const name of page.TableNames ?? []) existing.add(name);
    start = page.LastEvaluatedTableName;
  } while (start);

  for (const [table, definition] of Object.entries(tables) as Array<[TableName, (typeof tables)[TableName]]>) {
    const name = nameOf(table);
    const def: TableDefinition = definition;
    const dump = options.rebuildDir && join(options.rebuildDir, `${name}.rebuild.jsonl`);
    if (dump && existsSync(dump))
      await rebuild(client, name, def, dump, options); // a rebuild a crash interrupted
    else if (!existing.has(name)) await createTable(client, name, def);
    else if (dump && (await missingIndexes(client, name, def)).length > 0) await rebuild(client, name, def, dump, options);
  }
  for (const table of Object.keys(tables) as TableName[]) await untilActive(client, nameOf(table));
}

async function createTable(client: DynamoDBClient, name: string, def: TableDefinition): Promise<void> {
  const keys = [def.partitionKey, ...(def.sortKey ? [def.sortKey] : [])];
  const indexes = def.indexes ?? [];
  const attributes = new Map([...keys, ...indexes.flatMap((i) => [i.partitionKey, i.sortKey])].map((k) => [k.name, k.type]));
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
      KeySchema: keys.map((k, i) => ({ AttributeName: k.name, KeyType: i === 0 ? 'HASH' : 'RANGE' })),
      GlobalSecondaryIndexes:
        indexes.length === 0
          ? undefined
          : indexes.map((index) => ({
              IndexName: index.name,
              KeySchema: [
                { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
                { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'KEYS_ONLY' },
            })),
    }),
  );
}

async function missingIndexes(client: DynamoDBClient, name: string, def: TableDefinition): Promise<string[]> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
  const present = new Set((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  return (def.indexes ?? []).map((index) => index.name).filter((index) => !present.has(index));
}

/** Dumps the table's items (once, fsync'd), makes it again with every index, and writes them back. */
async function rebuild(client: DynamoDBClient, name: string, def: TableDefinition, dump: string, options: BootstrapOptions): Promise<void> {
  if (!existsSync(dump)) {
    options.log?.(`table ${name}: adding the indexes this version defines (rebuilding the local table)`);
    const fd = openSync(`${dump}.partial`, 'w');
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: name, ExclusiveStartKey: start }));
      if (page.Items?.length) writeSync(fd, page.Items.map((item) => `${JSON.stringify(item)}\n`).join(''));
      start = page.LastEvaluatedKey;
    } while (start);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(`${dump}.partial`, dump);
  }
  if (await tableExists(client, name)) {
    await client.send(new DeleteTableCommand({ TableName: name }));
    await untilGone(client, name);
  }
  await createTable(client, name, def);
  await untilActive(client, name);
  const items = readFileSync(dump, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, AttributeValue>);
  for (let i = 0; i < items.length; i += 25) {
    let requests = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    while (requests.length > 0) {
      const { UnprocessedItems } = await client.send(new BatchWriteItemCommand({ RequestItems: { [name]: requests } }));
      requests = (UnprocessedItems?.[name] ?? []) as typeof requests;
    }
  }
  unlinkSync(dump);
  options.log?.(`table ${name}: rebuilt with ${items.length} items`);
}

async function tableExists(client: DynamoDBClient, name: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: name }));
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return false;
    throw error;
  }
}

async function untilGone(client: DynamoDBClient, name: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (await tableExists(client, name)) {
    if (Date.now() > deadline) throw new Error(`table ${name} is still there ${timeoutMs} ms after its deletion`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function untilActive(client: DynamoDBClient, name: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (Date.now() > deadline) throw new Error(`table ${name} is still ${Table?.TableStatus} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
