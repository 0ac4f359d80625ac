import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { heldForm } from '../../domain/identity';
import type { Holdings, IdentityStore } from '../../ports/identities';
import { batchGet, storedForm } from './batch-get';

/**
 * Tombstones are keyed by a hash: an erased identifier is never stored again in clear. `#` cannot
 * appear in an identifier type, so these keys never meet a real identifier's.
 */
export const tombstoneKey = (key: string): string => `erased#${createHash('sha256').update(key).digest('hex')}`;
const ARCHIVE_KEY_PREFIX = 'archivekey#';
/**
 * Holdings store their hashes as `hashed`; items written before that kept the values in clear as
 * `held`: those are hashed on read, and the next write of the item replaces them.
 */
const storedHeld = (item: Record<string, unknown>): Record<string, string[]> => {
  if (item.hashed) return item.hashed as Record<string, string[]>;
  return Object.fromEntries(
    Object.entries((item.held ?? {}) as Record<string, string[]>).map(([type, values]) => [type, values.map((v) => heldForm(type, v))]),
  );
};
/** `holds#<profileId>`: a profile's holdings (see `Holdings`); no `profileId` attribute, so no index by profile picks it up. */
export const holdingsKey = (profileId: string): string => `holds#${profileId}`;
/** Other kinds of items share the table (`erased#`, `archivekey#`, ...): only `type:value` keys are identifiers. */
const isIdentifierKey = (key: string): boolean => /^[^#:]+:/.test(key);
export const BY_PROFILE_INDEX = 'byProfile';
const archiveKeyItem = (profileId: string): string => `${ARCHIVE_KEY_PREFIX}${profileId}`;

export class DynamoIdentityStore implements IdentityStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async owners(keys: readonly string[]): Promise<Map<string, string>> {
    const items = await batchGet<{ identifier: string; profileId: string }>(
      this.client,
      this.tableName,
      keys.map((identifier) => ({ identifier })),
      { consistentRead: true },
    );
    // Keys that differ only by lone surrogates are one item: each of them has its owner.
    const owners = new Map(items.map((item) => [storedForm(item.identifier), item.profileId]));
    return new Map(keys.filter((key) => owners.has(storedForm(key))).map((key) => [key, owners.get(storedForm(key))!]));
  }

  async repoint(key: string, from: string, to: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { identifier: key },
          UpdateExpression: 'SET profileId = :to',
          ConditionExpression: 'profileId = :from',
          ExpressionAttributeValues: { ':from': from, ':to': to },
        }),
      );
    } catch (error) {
      // Already moved (a repeated step), or never claimed for `from`.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async erase(key: string, profileId: string, at: string): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { identifier: tombstoneKey(key), erasedAt: at } }));
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { identifier: key },
          ConditionExpression: 'profileId = :p',
          ExpressionAttributeValues: { ':p': profileId },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error; // gone already, or someone else's now
    }
  }

  async ownedBy(profileIds: readonly string[]): Promise<Array<{ identifier: string; profileId: string }>> {
    const keys: Array<{ identifier: string; profileId: string }> = [];
    for (const profileId of new Set(profileIds)) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: BY_PROFILE_INDEX,
            KeyConditionExpression: 'profileId = :p',
            ExpressionAttributeValues: { ':p': profileId },
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? [])
          if (isIdentifierKey(item.identifier as string)) keys.push({ identifier: item.identifier as string, profileId });
        start = page.LastEvaluatedKey;
      } while (start);
    }
    return keys;
  }

  async erasedAmong(keys: readonly string[]): Promise<Map<string, string>> {
    const found = await batchGet<{ identifier: string; erasedAt: string }>(
      this.client,
      this.tableName,
      keys.map((key) => ({ identifier: tombstoneKey(key) })),
    );
    const tombstones = new Map(found.map((item) => [item.identifier, item.erasedAt]));
    return new Map(keys.flatMap((key) => (tombstones.has(tombstoneKey(key)) ? [[key, tombstones.get(tombstoneKey(key))!]] : [])));
  }

  async archiveKeys(profileIds: readonly string[], create?: () => string): Promise<Map<string, string>> {
    const unique = [...new Set(profileIds)];
    const found = await batchGet<{ identifier: string; key: string }>(
      this.client,
      this.tableName,
      unique.map((id) => ({ identifier: archiveKeyItem(id) })),
    );
    const keys = new Map(found.map((item) => [item.identifier.slice(ARCHIVE_KEY_PREFIX.length), item.key]));
    for (const profileId of create ? unique.filter((id) => !keys.has(id)) : []) {
      const key = create!();
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { identifier: archiveKeyItem(profileId), key },
            ConditionExpression: 'attribute_not_exists(identifier)',
          }),
        );
        keys.set(profileId, key);
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const { Item } = await this.client.send(
          new GetCommand({ TableName: this.tableName, Key: { identifier: archiveKeyItem(profileId) }, ConsistentRead: true }),
        );
        keys.set(profileId, Item!.key as string);
      }
    }
    return keys;
  }

  async dropArchiveKeys(profileIds: readonly string[]): Promise<void> {
    for (const profileId of profileIds)
      await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { identifier: archiveKeyItem(profileId) } }));
  }

  async release(key: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { identifier: tombstoneKey(key) } }));
  }

  async claim(key: string, profileId: string, at: string): Promise<string> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { identifier: key, profileId, firstSeen: at },
          ConditionExpression: 'attribute_not_exists(identifier)',
        }),
      );
      return profileId;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const { Item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { identifier: key }, ConsistentRead: true }),
      );
      return Item!.profileId as string;
    }
  }

  async holdings(profileId: string): Promise<Holdings | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { identifier: holdingsKey(profileId) }, ConsistentRead: true }),
    );
    if (!Item) return undefined;
    return {
      profileId,
      version: Item.version as number,
      held: Item.into ? {} : storedHeld(Item),
      ...(Item.into ? { into: Item.into as string } : {}),
      ...(typeof Item.joins === 'number' ? { joins: Item.joins } : {}),
    };
  }

  async putHoldings(next: Holdings, expectedVersion: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          // A redirect keeps only where its holdings went: they count there.
          Item: {
            identifier: holdingsKey(next.profileId),
            version: next.version,
            ...(next.into ? { into: next.into } : { hashed: next.held, ...(next.joins ? { joins: next.joins } : {}) }),
          },
          ...(expectedVersion === 0
            ? { ConditionExpression: 'attribute_not_exists(identifier)' }
            : { ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': expectedVersion } }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async dropHoldings(profileIds: readonly string[]): Promise<void> {
    for (const profileId of profileIds)
      await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { identifier: holdingsKey(profileId) } }));
  }
}
