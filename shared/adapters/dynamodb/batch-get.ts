import { BatchGetCommand, type BatchGetCommandOutput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { backoff } from '../../concurrency';

/**
 * A string as DynamoDB stores it: UTF-8, where lone surrogates become U+FFFD. Two keys that differ only
 * by lone surrogates (`a\ud800`, `a\udc00`) are one item there.
 */
export const storedForm = (value: string): string => Buffer.from(value).toString();

const keyForm = (key: Record<string, unknown>): string =>
  JSON.stringify(
    Object.entries(key)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, value]) => [name, typeof value === 'string' ? storedForm(value) : value]),
  );

/**
 * Items by key, 100 per BatchGet, retrying the unprocessed keys with backoff. Missing items are left out.
 * Keys are asked once by their stored form: a BatchGet holding one item's key twice fails whole.
 */
export async function batchGet<T>(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Record<string, unknown>[],
  options: { consistentRead?: boolean } = {},
): Promise<T[]> {
  const unique = [...new Map(keys.map((key) => [keyForm(key), key])).values()];
  const found: T[] = [];
  for (let i = 0; i < unique.length; i += 100) {
    let pending: Record<string, unknown>[] | undefined = unique.slice(i, i + 100);
    for (let attempt = 0; pending && pending.length > 0; attempt++) {
      if (attempt > 0) await backoff(attempt);
      const { Responses, UnprocessedKeys }: BatchGetCommandOutput = await client.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: options.consistentRead } } }),
      );
      found.push(...((Responses?.[tableName] ?? []) as T[]));
      pending = UnprocessedKeys?.[tableName]?.Keys;
    }
  }
  return found;
}
