/** Creates Prisme's tables from `shared/resources.ts`: used by the local runtime and the integration tests. */
import { CreateTableCommand, ListTablesCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { tables, type TableName } from '../shared/resources';

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
    const keys = [definition.partitionKey, ...('sortKey' in definition ? [definition.sortKey] : [])];
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: keys.map((k) => ({ AttributeName: k.name, AttributeType: k.type })),
        KeySchema: keys.map((k, i) => ({ AttributeName: k.name, KeyType: i === 0 ? 'HASH' : 'RANGE' })),
      }),
    );
  }
}
