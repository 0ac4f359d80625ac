/** Creates Prisme's tables from `shared/resources.ts`: used by the local runtime and the integration tests. */
import { CreateTableCommand, DescribeTableCommand, ListTablesCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { tables, type TableDefinition, type TableName } from '../shared/resources';

/**
 * Creates the missing tables and returns once every table is ACTIVE: dynalite, like DynamoDB, answers
 * ResourceNotFoundException to item calls on a table still CREATING, even with createTableMs: 0.
 */
export async function createTables(client: DynamoDBClient, nameOf: (table: TableName) => string): Promise<void> {
  const existing = new Set<string>();
  let start: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    for (const name of page.TableNames ?? []) existing.add(name);
    start = page.LastEvaluatedTableName;
  } while (start);

  for (const [table, definition] of Object.entries(tables) as Array<[TableName, (typeof tables)[TableName]]>) {
    const name = nameOf(table);
    if (existing.has(name)) continue;
    const def: TableDefinition = definition;
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
  for (const table of Object.keys(tables) as TableName[]) await untilActive(client, nameOf(table));
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
