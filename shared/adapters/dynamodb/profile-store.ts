import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Profile } from '../../domain/profile';
import type { Page, ProfileStore } from '../../ports/profiles';
import { batchGet } from './batch-get';
import { decodeProfile, encodeProfile } from './profile-codec';
import { versionedPut } from './versioned-put';

export const encodeCursor = (key: Record<string, unknown> | undefined): string | undefined =>
  key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
export const decodeCursor = (cursor: string | undefined): Record<string, unknown> | undefined =>
  cursor ? (JSON.parse(Buffer.from(cursor, 'base64url').toString()) as Record<string, unknown>) : undefined;

export class DynamoProfileStore implements ProfileStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(profileId: string): Promise<Profile | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { profileId }, ConsistentRead: true }));
    return Item ? decodeProfile(Item) : undefined;
  }

  async delete(profileId: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { profileId } }));
  }

  async getMany(profileIds: readonly string[]): Promise<Profile[]> {
    return (
      await batchGet<Record<string, unknown>>(
        this.client,
        this.tableName,
        profileIds.map((profileId) => ({ profileId })),
      )
    ).map(decodeProfile);
  }

  async put(profile: Profile, expectedVersion: number): Promise<void> {
    await versionedPut(
      this.client,
      this.tableName,
      { ...encodeProfile(profile) },
      'profileId',
      expectedVersion,
      `profile ${profile.profileId}`,
    );
  }

  async due(dueKey: string, cursor: string | undefined, limit: number): Promise<Page<string>> {
    const { Items, LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'due',
        KeyConditionExpression: '#due = :due',
        ExpressionAttributeNames: { '#due': 'due' },
        ExpressionAttributeValues: { ':due': dueKey },
        ExclusiveStartKey: decodeCursor(cursor),
        Limit: limit,
      }),
    );
    return { items: (Items ?? []).map((item) => item.profileId as string), cursor: encodeCursor(LastEvaluatedKey) };
  }

  async scan(cursor: string | undefined, limit: number, segment?: { index: number; total: number }): Promise<Page<Profile>> {
    const { Items, LastEvaluatedKey } = await this.client.send(
      new ScanCommand({
        TableName: this.tableName,
        Limit: limit,
        ExclusiveStartKey: decodeCursor(cursor),
        Segment: segment?.index,
        TotalSegments: segment?.total,
      }),
    );
    return { items: (Items ?? []).map(decodeProfile), cursor: encodeCursor(LastEvaluatedKey) };
  }
}
