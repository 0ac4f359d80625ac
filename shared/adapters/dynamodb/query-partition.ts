import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';

/** The items of one partition (`pk`), page after page, until there are no more or at least `maxItems`. */
export async function queryPartition(
  client: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
  options: { consistent?: boolean; maxItems?: number } = {},
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ExclusiveStartKey: start,
        ConsistentRead: options.consistent,
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start && items.length < (options.maxItems ?? Number.POSITIVE_INFINITY));
  return items;
}
