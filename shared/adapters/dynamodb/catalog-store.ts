import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Audience } from '../../domain/audiences';
import type { IndicatorDefinition } from '../../domain/indicator-settings';
import type { Segment } from '../../domain/segment-definition';
import { VersionConflictError } from '../../errors';
import type { CatalogStore, Collection, DailyChanges, Migration, RunRecord, SizeDelta, SourceRecord } from '../../ports/catalog';
import { queryPartition } from './query-partition';

/** Shards of a segment's size counter: see addToSizes. */
const SIZE_SHARDS = 8;

const strip = <T>(item: Record<string, unknown> | undefined): T | undefined => {
  if (!item) return undefined;
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as T;
};

export class DynamoCatalogStore implements CatalogStore {
  readonly segments: Collection<Segment>;
  readonly audiences: Collection<Audience>;
  readonly indicators: Collection<IndicatorDefinition>;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {
    this.segments = this.collection<Segment>('SEGMENT');
    this.audiences = this.collection<Audience>('AUDIENCE');
    this.indicators = this.collection<IndicatorDefinition>('INDICATOR');
  }

  private collection<T extends { id: string; revision: number }>(pk: string): Collection<T> {
    const { client, tableName } = this;
    return {
      async get(id) {
        const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: { pk, sk: id }, ConsistentRead: true }));
        return strip<T>(Item);
      },
      list: async () => (await this.queryPartition(pk)).map((item) => strip<T>(item)!),
      async put(doc) {
        const first = doc.revision === 1;
        try {
          await client.send(
            new PutCommand({
              TableName: tableName,
              Item: { pk, sk: doc.id, ...doc },
              ConditionExpression: first ? 'attribute_not_exists(pk)' : 'revision = :previous',
              ExpressionAttributeValues: first ? undefined : { ':previous': doc.revision - 1 },
            }),
          );
        } catch (error) {
          if (error instanceof ConditionalCheckFailedException) {
            throw new VersionConflictError(`${pk.toLowerCase()} ${doc.id} was changed concurrently`);
          }
          throw error;
        }
      },
      async delete(id) {
        const { Attributes } = await client.send(new DeleteCommand({ TableName: tableName, Key: { pk, sk: id }, ReturnValues: 'ALL_OLD' }));
        return Attributes !== undefined;
      },
    };
  }

  async addSegmentProgress(id: string, revision: number, profiles: number): Promise<void> {
    await this.updateSegment(id, revision, 'ADD evaluatedProfiles :n', { ':n': profiles });
  }

  async markSegmentReady(id: string, revision: number): Promise<void> {
    await this.updateSegment(
      id,
      revision,
      'SET #status = :ready, readyAt = :at',
      { ':ready': 'ready', ':at': new Date().toISOString() },
      { '#status': 'status' },
    );
  }

  async clearSpecsSince(specIds: readonly string[]): Promise<void> {
    const cleared = new Set(specIds);
    for (const segment of await this.segments.list()) {
      const since = Object.entries(segment.specsSince ?? {});
      if (!since.some(([id]) => cleared.has(id))) continue;
      const left = since.filter(([id]) => !cleared.has(id));
      const latest = left
        .map(([, at]) => at)
        .sort()
        .at(-1);
      // Not a new revision: the condition is unchanged, only what its aggregates hold.
      await this.client
        .send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: 'SEGMENT', sk: segment.id },
            UpdateExpression: latest ? 'SET specsSince = :left, aggregatesSince = :latest' : 'REMOVE specsSince, aggregatesSince',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: latest ? { ':left': Object.fromEntries(left), ':latest': latest } : undefined,
          }),
        )
        .catch((error: unknown) => {
          if (!(error instanceof ConditionalCheckFailedException)) throw error; // deleted meanwhile
        });
    }
  }

  /** An update that applies only to the given revision: a newer one runs its own evaluation. */
  private async updateSegment(
    id: string,
    revision: number,
    expression: string,
    values: Record<string, unknown>,
    names?: Record<string, string>,
  ): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: 'SEGMENT', sk: id },
          UpdateExpression: expression,
          ConditionExpression: 'revision = :revision',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ...values, ':revision': revision },
        }),
      );
    } catch (error) {
      // A newer revision replaced this one and runs its own evaluation.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async countTransitions(changes: readonly DailyChanges[]): Promise<void> {
    await Promise.all(
      changes.map((c) =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: `STATS#${c.segmentId}`, sk: c.day },
            UpdateExpression: 'ADD entered :entered, exited :exited',
            ExpressionAttributeValues: { ':entered': c.entered, ':exited': c.exited },
          }),
        ),
      ),
    );
  }

  async dailyChanges(segmentId: string, fromDay: string): Promise<DailyChanges[]> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk >= :from',
        ExpressionAttributeValues: { ':pk': `STATS#${segmentId}`, ':from': fromDay },
      }),
    );
    return (Items ?? []).map((item) => ({
      segmentId,
      day: item.sk as string,
      entered: Number(item.entered ?? 0),
      exited: Number(item.exited ?? 0),
    }));
  }

  /**
   * A segment's size is the sum of a few shards, each added to at random: one item would cap a segment's
   * entries at one item's write throughput (1,000 writes a second on DynamoDB).
   */
  async addToSizes(deltas: readonly SizeDelta[]): Promise<void> {
    await Promise.all(
      deltas
        .filter((d) => d.delta !== 0)
        .map((d) =>
          this.client.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: { pk: `SIZE#${d.segmentId}`, sk: `shard#${Math.floor(Math.random() * SIZE_SHARDS)}` },
              UpdateExpression: 'ADD #size :delta',
              ExpressionAttributeNames: { '#size': 'size' },
              ExpressionAttributeValues: { ':delta': d.delta },
            }),
          ),
        ),
    );
  }

  async sizes(segmentIds: readonly string[]): Promise<Map<string, number>> {
    const counted = await Promise.all(
      [...new Set(segmentIds)].map(async (segmentId) => [segmentId, await this.sizeOf(segmentId)] as const),
    );
    return new Map(counted.flatMap(([segmentId, size]) => (size === undefined ? [] : [[segmentId, size.total] as const])));
  }

  /** The shards and the base, which `setSize` writes: no base, no counter yet. */
  private async sizeOf(segmentId: string): Promise<{ total: number; base: number } | undefined> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `SIZE#${segmentId}` },
        ConsistentRead: true,
      }),
    );
    const base = Items.find((item) => item.sk === 'base');
    if (!base) return undefined;
    return { total: Items.reduce((sum, item) => sum + Number(item.size ?? 0), 0), base: Number(base.size ?? 0) };
  }

  async setSize(segmentId: string, size: number, expected?: number): Promise<boolean> {
    const current = await this.sizeOf(segmentId);
    if (expected !== undefined && (current?.total ?? 0) !== expected) return false;
    // The base takes what the shards do not hold; conditional on the base read, so two setters do not both apply.
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: `SIZE#${segmentId}`, sk: 'base', size: size - ((current?.total ?? 0) - (current?.base ?? 0)) },
          ...(current
            ? {
                ConditionExpression: '#size = :base',
                ExpressionAttributeNames: { '#size': 'size' },
                ExpressionAttributeValues: { ':base': current.base },
              }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async countMigrations(migrations: readonly Migration[]): Promise<void> {
    await Promise.all(
      migrations.map((m) =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: `MIGRATION#${m.day}`, sk: `${m.from}>${m.to}` },
            UpdateExpression: 'ADD profiles :n',
            ExpressionAttributeValues: { ':n': m.profiles },
          }),
        ),
      ),
    );
  }

  async migrations(fromDay: string, toDay: string): Promise<Migration[]> {
    const days: string[] = [];
    for (let at = Date.parse(`${fromDay}T00:00:00Z`); at <= Date.parse(`${toDay}T00:00:00Z`); at += 86_400_000) {
      days.push(new Date(at).toISOString().slice(0, 10));
    }
    const perDay = await Promise.all(
      days.map(async (day) =>
        (await this.queryPartition(`MIGRATION#${day}`)).map((item) => {
          const [from, to] = (item.sk as string).split('>') as [string, string];
          return { day, from, to, profiles: Number(item.profiles ?? 0) };
        }),
      ),
    );
    return perDay.flat();
  }

  async findSource(keyHash: string): Promise<SourceRecord | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: 'SOURCE', sk: keyHash } }));
    return strip<SourceRecord>(Item);
  }

  async putSource(source: SourceRecord): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { pk: 'SOURCE', sk: source.keyHash, ...source } }));
  }

  async listSources(): Promise<SourceRecord[]> {
    return (await this.queryPartition('SOURCE')).map((item) => strip<SourceRecord>(item)!);
  }

  /** Every item of one partition, all pages, strongly consistent. */
  private queryPartition(pk: string): Promise<Record<string, unknown>[]> {
    return queryPartition(this.client, this.tableName, pk, { consistent: true });
  }

  async putRun(scope: string, run: RunRecord): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { pk: `RUN#${scope}`, sk: run.runId, ...run } }));
  }

  async getRun(scope: string, runId: string): Promise<RunRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `RUN#${scope}`, sk: runId }, ConsistentRead: true }),
    );
    return strip<RunRecord>(Item);
  }

  async listRuns(scope: string, limit: number): Promise<RunRecord[]> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `RUN#${scope}` },
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return (Items ?? []).map((item) => strip<RunRecord>(item)!);
  }

  async advanceRun(scope: string, runId: string, from: string, to: string, changes: Partial<RunRecord> = {}): Promise<boolean> {
    const names: Record<string, string> = { '#phase': 'phase' };
    const values: Record<string, unknown> = { ':from': from, ':to': to };
    const sets = ['#phase = :to'];
    for (const [key, value] of Object.entries(changes)) {
      names[`#${key}`] = key;
      values[`:${key}`] = value;
      sets.push(`#${key} = :${key}`);
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `RUN#${scope}`, sk: runId },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: '#phase = :from',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async putRunPart(scope: string, runId: string, part: string, data: unknown): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { pk: `RUNPART#${scope}#${runId}`, sk: part, data } }));
  }

  async getRunPart<T>(scope: string, runId: string, part: string): Promise<T | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `RUNPART#${scope}#${runId}`, sk: part }, ConsistentRead: true }),
    );
    return Item?.data as T | undefined;
  }

  async deleteRunParts(scope: string, runId: string): Promise<void> {
    const pk = `RUNPART#${scope}#${runId}`;
    for (const item of await this.queryPartition(pk)) {
      await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { pk, sk: item.sk } }));
    }
  }

  async listRunParts<T>(scope: string, runId: string, prefix: string): Promise<Array<{ part: string; data: T }>> {
    const items = await this.queryPartition(`RUNPART#${scope}#${runId}`);
    return items.filter((item) => String(item.sk).startsWith(prefix)).map((item) => ({ part: String(item.sk), data: item.data as T }));
  }
}
