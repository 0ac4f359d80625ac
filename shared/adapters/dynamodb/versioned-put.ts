import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { VersionConflictError } from '../../errors';

/**
 * Optimistic locking: puts `item` only if the stored item's `version` is still `expectedVersion`
 * (0: only if there is none, told by its partition key `keyName`), else a VersionConflictError naming `what`.
 */
export async function versionedPut(
  client: DynamoDBDocumentClient,
  tableName: string,
  item: Record<string, unknown>,
  keyName: string,
  expectedVersion: number,
  what: string,
): Promise<void> {
  try {
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: item,
        ConditionExpression: expectedVersion === 0 ? `attribute_not_exists(${keyName})` : 'version = :expected',
        ExpressionAttributeValues: expectedVersion === 0 ? undefined : { ':expected': expectedVersion },
      }),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException)
      throw new VersionConflictError(`${what} changed since version ${expectedVersion}`);
    throw error;
  }
}
