import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { FrozenValues } from '../../domain/frozen';
import { batchGet } from './batch-get';

/** A profile's frozen indicators, as of one freeze run. Kept apart from the hot profile item. */
export interface FrozenRecord {
  profileId: string;
  runId: string;
  frozenAt: string;
  values: FrozenValues;
}

/** Port: where frozen indicators live. */
export interface FrozenStore {
  getMany(profileIds: readonly string[]): Promise<FrozenRecord[]>;
  put(record: FrozenRecord): Promise<void>;
  delete(profileId: string): Promise<void>;
}

export class DynamoFrozenStore implements FrozenStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  getMany(profileIds: readonly string[]): Promise<FrozenRecord[]> {
    return batchGet<FrozenRecord>(this.client, this.tableName, profileIds.map((profileId) => ({ profileId })));
  }

  async delete(profileId: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { profileId } }));
  }

  async put(record: FrozenRecord): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: record }));
  }
}
