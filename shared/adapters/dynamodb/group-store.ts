import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Group } from '../../domain/groups';
import { withoutPrototypes } from '../../domain/records';
import type { GroupStore } from '../../ports/groups';
import type { Page } from '../../ports/profiles';
import { batchGet } from './batch-get';
import { decodeCursor, encodeCursor } from './profile-store';
import { versionedPut } from './versioned-put';

const GROUP_SK = 'group';
const MEMBER_PREFIX = 'member#';

/**
 * The group item keeps its traits as one JSON string: trait names are a client's (`__proto__` too),
 * and a DynamoDB map read back would make them keys of an ordinary object.
 */
interface StoredGroup {
  groupId: string;
  sk: typeof GROUP_SK;
  version: number;
  updatedAt?: string;
  body: string;
}

const encode = ({ groupId, version, updatedAt, traits, traitsAt }: Group): StoredGroup => ({
  groupId,
  sk: GROUP_SK,
  version,
  ...(updatedAt === undefined ? {} : { updatedAt }),
  body: JSON.stringify({ traits, traitsAt }),
});

const decode = (item: StoredGroup): Group => ({
  groupId: item.groupId,
  version: item.version,
  ...(item.updatedAt === undefined ? {} : { updatedAt: item.updatedAt }),
  ...withoutPrototypes(JSON.parse(item.body) as Pick<Group, 'traits' | 'traitsAt'>),
});

export class DynamoGroupStore implements GroupStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getMany(groupIds: readonly string[]): Promise<Group[]> {
    // Consistent: a write that just changed a group's traits evaluates its members with them.
    const items = await batchGet<StoredGroup>(
      this.client,
      this.tableName,
      groupIds.map((groupId) => ({ groupId, sk: GROUP_SK })),
      { consistentRead: true },
    );
    return items.map(decode);
  }

  async put(group: Group, expectedVersion: number): Promise<void> {
    await versionedPut(this.client, this.tableName, { ...encode(group) }, 'groupId', expectedVersion, `group ${group.groupId}`);
  }

  async addMember(groupId: string, profileId: string): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { groupId, sk: `${MEMBER_PREFIX}${profileId}`, profileId } }));
  }

  async removeMember(groupId: string, profileId: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { groupId, sk: `${MEMBER_PREFIX}${profileId}` } }));
  }

  async members(groupId: string, cursor: string | undefined, limit: number): Promise<Page<string>> {
    const { Items, LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'groupId = :groupId AND begins_with(sk, :member)',
        ExpressionAttributeValues: { ':groupId': groupId, ':member': MEMBER_PREFIX },
        ExclusiveStartKey: decodeCursor(cursor),
        Limit: limit,
      }),
    );
    return { items: (Items ?? []).map((item) => item.profileId as string), cursor: encodeCursor(LastEvaluatedKey) };
  }
}
