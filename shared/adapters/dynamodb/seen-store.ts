/**
 * What Prisme has seen, in the catalog table: one item per name (`SEEN#events` or `SEEN#traits`, the
 * name), its count added to, its property keys a string set capped at `SEEN_LIMITS.keysPerName`, each
 * key's samples an attribute of its own (`s:<key>`), so writers from several instances merge by key.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SEEN_LIMITS, type SeenEntry, type SeenKind, type SeenTally } from '../../domain/seen-catalog';
import type { SeenStore } from '../../ports/seen';
import { queryPartition } from './query-partition';

const pkOf = (kind: SeenKind) => `SEEN#${kind}`;
const SAMPLE_PREFIX = 's:';
const iso = (ms: number) => new Date(ms).toISOString();

export class DynamoSeenStore implements SeenStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async record(tallies: readonly SeenTally[]): Promise<void> {
    await Promise.all(tallies.map((tally) => this.recordOne(tally)));
  }

  private async recordOne(tally: SeenTally, withKeys = true): Promise<void> {
    const names: Record<string, string> = { '#count': 'count', '#first': 'firstSeen', '#last': 'lastSeen' };
    const values: Record<string, unknown> = { ':count': tally.count, ':first': iso(tally.firstSeen), ':last': iso(tally.lastSeen) };
    const sets = ['#first = if_not_exists(#first, :first)', '#last = :last'];
    const adds = ['#count :count'];
    if (tally.samples.length > 0) {
      names['#samples'] = 'samples';
      values[':samples'] = tally.samples;
      sets.push('#samples = :samples');
    }
    const keys = withKeys ? [...tally.keys] : [];
    if (keys.length > 0) {
      names['#keys'] = 'keys';
      values[':keys'] = new Set(keys.map(([key]) => key));
      values[':max'] = SEEN_LIMITS.keysPerName;
      adds.push('#keys :keys');
      keys.forEach(([key, samples], i) => {
        if (samples.length === 0) return;
        names[`#s${i}`] = `${SAMPLE_PREFIX}${key}`;
        values[`:s${i}`] = samples;
        sets.push(`#s${i} = :s${i}`);
      });
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: pkOf(tally.kind), sk: tally.name },
          UpdateExpression: `SET ${sets.join(', ')} ADD ${adds.join(', ')}`,
          ...(keys.length > 0 && { ConditionExpression: 'attribute_not_exists(#keys) OR size(#keys) < :max' }),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      // At its key limit: the count and times still add up; its keys stay as they are.
      if (error instanceof ConditionalCheckFailedException && withKeys) return this.recordOne(tally, false);
      throw error;
    }
  }

  async list(kind: SeenKind, limit: number): Promise<SeenEntry[]> {
    // Names are sorted by name in the table; the most seen are wanted, so read them all (bounded).
    const items = await queryPartition(this.client, this.tableName, pkOf(kind), { maxItems: SEEN_LIMITS.namesPerKind * 5 });
    return items
      .map((item) => entryOf(kind, item))
      .sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .slice(0, limit);
  }
}

function entryOf(kind: SeenKind, item: Record<string, unknown>): SeenEntry {
  const entry: SeenEntry = {
    name: item.sk as string,
    count: Number(item.count ?? 0),
    firstSeen: item.firstSeen as string,
    lastSeen: item.lastSeen as string,
  };
  if (kind === 'traits') return { ...entry, samples: (item.samples as string[] | undefined) ?? [] };
  const keys = [...((item.keys as Set<string> | undefined) ?? [])].sort();
  return { ...entry, properties: keys.map((key) => ({ key, samples: (item[`${SAMPLE_PREFIX}${key}`] as string[] | undefined) ?? [] })) };
}
