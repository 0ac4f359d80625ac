/**
 * Identity resolution: events/s through the processor's use case against dynalite, with a realistic mix
 * (new anonymous visitors, returning customers, anonymous visitors logging in, people whose app and web
 * profiles merge), and the DynamoDB calls each event costs, counted on the real SDK client.
 *
 * Run alone: npx tsx bench/identity-resolution.ts [--people 2000] [--merge-share 0.1]
 */

import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoCatalogStore } from '#shared/adapters/dynamodb/catalog-store';
import { DynamoIdentityStore } from '#shared/adapters/dynamodb/identity-store';
import { DynamoMembershipStore } from '#shared/adapters/dynamodb/membership-store';
import { DynamoProfileStore } from '#shared/adapters/dynamodb/profile-store';
import type { EnrichedEvent } from '#shared/domain/events';
import { withManagedSegments } from '#shared/usecases/managed-segments';
import { processEvents } from '#shared/usecases/process-events';
import { ProfileWriter } from '#shared/usecases/profile-writer';
import { RulesCache } from '#shared/usecases/rules-cache';
import type { SourcedEvent } from '#shared/usecases/sourced-event';
import { newProfileId } from '#shared/wiring';
import { benchDynamo } from './dynalite';
import { type BenchResult, formatRate, seededRandom } from './harness';

export async function run(options: { people?: number; mergeShare?: number } = {}): Promise<BenchResult> {
  const people = options.people ?? 2000;
  // The rest of the people split 4:3:2 between anonymous, returning and logging in.
  const mergeShare = options.mergeShare ?? 0.1;
  const [anonymousBelow, returningBelow, loginBelow] = [4, 7, 9].map((k) => (k / 9) * (1 - mergeShare));
  const { dynamo, cost, stop } = await benchDynamo();
  const profiles = new DynamoProfileStore(dynamo, 'bench-profiles');
  const identities = new DynamoIdentityStore(dynamo, 'bench-identities');
  const catalog = withManagedSegments(new DynamoCatalogStore(dynamo, 'bench-catalog'));
  const logger = new Logger({ serviceName: 'bench', logLevel: 'SILENT' });
  const writer = new ProfileWriter({
    profiles,
    identities,
    memberships: new DynamoMembershipStore(dynamo, 'bench-memberships'),
    stats: catalog,
    sizes: catalog,
    publisher: { publish: async () => undefined },
    logger,
    now: Date.now,
  });
  const deps = {
    identities,
    profiles,
    writer,
    rules: new RulesCache(catalog, 60_000),
    logger,
    newProfileId: () => newProfileId(),
    now: Date.now,
    concurrency: 16,
  };

  // The stream: per person, in order, a few events chosen by their story.
  const random = seededRandom(11);
  let n = 0;
  const event = (fields: Partial<EnrichedEvent>): EnrichedEvent => ({
    messageId: `m${n++}`,
    type: 'track',
    event: 'Product Viewed',
    properties: {},
    traits: {},
    context: {},
    timestamp: new Date().toISOString(),
    receivedAt: new Date().toISOString(),
    channel: 'web',
    sourceId: 'bench',
    ...fields,
  });
  const stream: EnrichedEvent[] = [];
  const stories = { anonymous: 0, returning: 0, login: 0, merge: 0 };
  for (let p = 0; p < people; p++) {
    const r = random();
    if (r < anonymousBelow!) {
      stories.anonymous++;
      for (let i = 0; i < 3; i++) stream.push(event({ type: 'page', event: undefined, anonymousId: `anon-${p}` }));
    } else if (r < returningBelow!) {
      stories.returning++;
      for (let i = 0; i < 4; i++) stream.push(event({ userId: `user-${p}` }));
    } else if (r < loginBelow!) {
      stories.login++;
      stream.push(event({ type: 'page', event: undefined, anonymousId: `anon-${p}` }));
      stream.push(
        event({
          type: 'identify',
          event: undefined,
          anonymousId: `anon-${p}`,
          userId: `user-${p}`,
          traits: { email: `p${p}@example.com` },
        }),
      );
      stream.push(event({ userId: `user-${p}` }));
    } else {
      stories.merge++;
      stream.push(event({ userId: `user-${p}`, channel: 'app' }));
      stream.push(event({ type: 'page', event: undefined, anonymousId: `web-${p}` }));
      stream.push(event({ type: 'identify', event: undefined, anonymousId: `web-${p}`, userId: `user-${p}` }));
    }
  }
  // Batches of 100 events, as one SQS batch of 10 messages of 10 events would bring.
  const batches: SourcedEvent[][] = [];
  for (let i = 0; i < stream.length; i += 100)
    batches.push(stream.slice(i, i + 100).map((e, k) => ({ event: e, origin: `b${i}-${Math.floor(k / 10)}` })));

  const start = process.hrtime.bigint();
  for (const batch of batches) {
    const result = await processEvents(batch, deps);
    const failure = [...result.failed.values()][0] ?? result.parked[0]?.error;
    if (failure) throw new Error(`batch failed: ${failure.message}`);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = cost();
  await stop();

  return {
    name: 'identity-resolution',
    description: `${people.toLocaleString('en')} people, ${stream.length.toLocaleString('en')} events (stories: ${stories.anonymous} anonymous, ${stories.returning} returning, ${stories.login} logging in, ${stories.merge} merging), batches of 100, on dynalite`,
    unit: 'events/s',
    figures: {
      'prisme events/s': stream.length / seconds,
      'DynamoDB reads per event': used.reads / stream.length,
      'DynamoDB writes per event': used.writes / stream.length,
      'DynamoDB read units per event': used.readUnits / stream.length,
      'DynamoDB write units per event': used.writeUnits / stream.length,
    },
    ratios: {},
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { people: { type: 'string' }, 'merge-share': { type: 'string' } } });
  const result = await run({
    people: values.people ? Number(values.people) : undefined,
    mergeShare: values['merge-share'] ? Number(values['merge-share']) : undefined,
  });
  console.log(result.description);
  for (const [name, value] of Object.entries(result.figures))
    console.log(`${name.padEnd(28)} ${value >= 100 ? formatRate(value) : value.toFixed(2)}`);
}
