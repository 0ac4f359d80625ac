/**
 * A local data folder made by an earlier version gets the indexes a newer one defines: dynalite cannot
 * add an index to a table that exists, so the table is rebuilt from an fsync'd dump of its items, and
 * a crash at any point of the rebuild loses none of them.
 */

import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { createTables } from '#local/bootstrap';
import type { TableName } from '#shared/resources';

const client = new DynamoDBClient({
  endpoint: inject('dynamoEndpoint'),
  region: 'us-east-1',
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
});
const items = Array.from({ length: 60 }, (_, i) => ({
  identifier: { S: `userId:u${i}` },
  profileId: { S: `p_${i % 7}` },
  firstSeen: { S: '2026-01-01T00:00:00.000Z' },
}));

/** The identities table as the previous version made it: no index by profile. */
async function oldIdentitiesTable(prefix: string): Promise<string> {
  const name = `${prefix}-identities`;
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'identifier', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'identifier', KeyType: 'HASH' }],
    }),
  );
  while ((await client.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus !== 'ACTIVE')
    await new Promise((resolve) => setTimeout(resolve, 20));
  for (const Item of items) await client.send(new PutItemCommand({ TableName: name, Item }));
  return name;
}
const indexesOf = async (name: string) =>
  ((await client.send(new DescribeTableCommand({ TableName: name }))).Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName);
const countOf = async (name: string) => (await client.send(new ScanCommand({ TableName: name, Select: 'COUNT' }))).Count;

describe('local tables of an earlier version', () => {
  it('gain the indexes defined since, with every item kept', async () => {
    const prefix = `b${randomBytes(4).toString('hex')}`;
    const name = await oldIdentitiesTable(prefix);
    const dir = mkdtempSync(join(tmpdir(), 'prisme-bootstrap-'));
    const logged: string[] = [];
    await createTables(client, (table: TableName) => `${prefix}-${table}`, { rebuildDir: dir, log: (m) => logged.push(m) });
    expect(await indexesOf(name)).toEqual(['byProfile']);
    expect(await countOf(name)).toBe(items.length);
    expect(existsSync(join(dir, `${name}.rebuild.jsonl`))).toBe(false);
    expect(logged).toEqual([expect.stringMatching(/adding the indexes/), `table ${name}: rebuilt with ${items.length} items`]);
  });

  it('finish a rebuild a crash interrupted after the table was deleted, from the dump', async () => {
    const prefix = `b${randomBytes(4).toString('hex')}`;
    const name = await oldIdentitiesTable(prefix);
    const dir = mkdtempSync(join(tmpdir(), 'prisme-bootstrap-'));
    // The dump was written, then the process died right after deleting the table.
    const dumped = (await client.send(new ScanCommand({ TableName: name }))).Items!;
    writeFileSync(join(dir, `${name}.rebuild.jsonl`), dumped.map((item) => `${JSON.stringify(item)}\n`).join(''));
    await client.send(new DeleteTableCommand({ TableName: name }));
    while (
      await client.send(new DescribeTableCommand({ TableName: name })).then(
        () => true,
        () => false,
      )
    )
      await new Promise((resolve) => setTimeout(resolve, 20));
    await createTables(client, (table: TableName) => `${prefix}-${table}`, { rebuildDir: dir });
    expect(await indexesOf(name)).toEqual(['byProfile']);
    expect(await countOf(name)).toBe(items.length);
  });
});
