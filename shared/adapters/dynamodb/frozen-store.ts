import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { FrozenRecord, FrozenStore } from '../../ports/frozen';
import { batchGet } from './batch-get';

export class DynamoFrozenStore implements FrozenStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  getMany(profileIds: readonly string[]): Promise<FrozenRecord[]> {
    return batchGet<FrozenRecord>(
      this.client,
      this.tableName,
      profileIds.map((profileId) => ({ profileId })),
    );
  }

  async delete(profileId: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { profileId } }));
  }

  async put(record: FrozenRecord): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: record }));
  }
}
