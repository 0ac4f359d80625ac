import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Member, MembershipStore } from '../../ports/memberships';
import type { Page } from '../../ports/profiles';
import { batchGet } from './batch-get';
import { decodeCursor, encodeCursor } from './profile-store';

export class DynamoMembershipStore implements MembershipStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async enteredAt(profileId: string, segmentIds: readonly string[], options: { consistent?: boolean } = {}): Promise<Map<string, string>> {
    const keys = [...new Set(segmentIds)].map((segmentId) => ({ segmentId, profileId }));
    const items = await batchGet<{ segmentId: string; enteredAt: string }>(this.client, this.tableName, keys, {
      consistentRead: options.consistent,
    });
    return new Map(items.map((item) => [item.segmentId, item.enteredAt]));
  }

  // The old item says whether the write changed membership: of two racing writes, one sees the other's.
  async enter(segmentId: string, profileId: string, at: string): Promise<boolean> {
    const { Attributes } = await this.client.send(
      new PutCommand({ TableName: this.tableName, Item: { segmentId, profileId, enteredAt: at }, ReturnValues: 'ALL_OLD' }),
    );
    return Attributes === undefined;
  }

  async exit(segmentId: string, profileId: string): Promise<boolean> {
    const { Attributes } = await this.client.send(
      new DeleteCommand({ TableName: this.tableName, Key: { segmentId, profileId }, ReturnValues: 'ALL_OLD' }),
    );
    return Attributes !== undefined;
  }

  async members(segmentId: string, cursor: string | undefined, limit: number): Promise<Page<Member>> {
    const { Items, LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'segmentId = :segmentId',
        ExpressionAttributeValues: { ':segmentId': segmentId },
        ExclusiveStartKey: decodeCursor(cursor),
        Limit: limit,
      }),
    );
    return {
      items: (Items ?? []).map((item) => ({ profileId: item.profileId as string, enteredAt: item.enteredAt as string })),
      cursor: encodeCursor(LastEvaluatedKey),
    };
  }

  async count(segmentId: string): Promise<number> {
    let total = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'segmentId = :segmentId',
          ExpressionAttributeValues: { ':segmentId': segmentId },
          Select: 'COUNT',
          ExclusiveStartKey: start,
        }),
      );
      total += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    return total;
  }
}
