/**
 * Segment evaluation: the same profiles and conditions evaluated by Prisme's
 * compiled engine, by mingo (MongoDB queries) and by json-rules-engine, in one
 * process. Peers get an advantage: their windowed event counts are computed
 * for them before timing starts, while Prisme sums its daily buckets inside
 * the timed loop. All three must agree on every result, or the run fails.
 *
 * Run alone: npx tsx bench/segment-evaluation.ts [--profiles 20000]
 */

import { parseArgs } from 'node:util';
import { Engine, type RuleProperties, type TopLevelCondition } from 'json-rules-engine';
import { Query } from 'mingo';
import { countSince } from '#shared/domain/buckets';
import { newProfile, type Profile } from '#shared/domain/profile';
import { compile } from '#shared/domain/segment-compiler';
import type { Condition } from '#shared/domain/segment-definition';
import { DAY_MS, dayIndex } from '#shared/domain/time';
import { type BenchResult, formatRate, measure, seededRandom } from './harness';

const NOW = Date.parse('2026-03-15T12:00:00.000Z');
const TODAY = dayIndex(NOW);

interface Case {
  name: string;
  prisme: Condition;
  mongo: Record<string, unknown>;
  rules: TopLevelCondition;
}

/** Windowed counts the peers read as plain fields: `c.<event>|<channel>.<days>`. */
const WINDOWS = [3, 90, 183, 400] as const;
const countField = (event: string, channel: string, days: number) => `c.${event}|${channel}.d${days}`;

const cases: Case[] = [
  {
    name: 'VIP store buyers (2+ in 6 months)',
    prisme: {
      type: 'and',
      conditions: [
        { type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' },
        { type: 'event', event: 'Order Completed', channel: 'store', count: { operator: 'gte', value: 2 }, within: { days: 183 } },
      ],
    },
    mongo: { 'traits.tier': 'vip', [countField('Order Completed', 'store', 183)]: { $gte: 2 } },
    rules: {
      all: [
        { fact: 'profile', path: '$.traits.tier', operator: 'equal', value: 'vip' },
        { fact: 'profile', path: `$.c['Order Completed|store'].d183`, operator: 'greaterThanInclusive', value: 2 },
      ],
    },
  },
  {
    name: 'Nice or Cannes, or 30+ on a paid plan',
    prisme: {
      type: 'or',
      conditions: [
        { type: 'trait', trait: 'city', operator: 'in', value: ['nice', 'cannes'] },
        {
          type: 'and',
          conditions: [
            { type: 'trait', trait: 'age', operator: 'gte', value: 30 },
            { type: 'trait', trait: 'plan', operator: 'in', value: ['pro', 'team'] },
          ],
        },
      ],
    },
    mongo: {
      $or: [{ 'traits.city': { $in: ['nice', 'cannes'] } }, { 'traits.age': { $gte: 30 }, 'traits.plan': { $in: ['pro', 'team'] } }],
    },
    rules: {
      any: [
        { fact: 'profile', path: '$.traits.city', operator: 'in', value: ['nice', 'cannes'] },
        {
          all: [
            { fact: 'profile', path: '$.traits.age', operator: 'greaterThanInclusive', value: 30 },
            { fact: 'profile', path: '$.traits.plan', operator: 'in', value: ['pro', 'team'] },
          ],
        },
      ],
    },
  },
  {
    name: 'Web visit in 3 days, not standard, no order in 90 days',
    prisme: {
      type: 'and',
      conditions: [
        { type: 'event', event: 'Page Viewed', channel: 'web', within: { days: 3 } },
        { type: 'not', condition: { type: 'trait', trait: 'tier', operator: 'eq', value: 'standard' } },
        { type: 'event', event: 'Order Completed', channel: ['web', 'store'], count: { operator: 'lt', value: 1 }, within: { days: 90 } },
      ],
    },
    mongo: {
      [countField('Page Viewed', 'web', 3)]: { $gte: 1 },
      'traits.tier': { $ne: 'standard' },
      $expr: { $lt: [{ $add: [`$${countField('Order Completed', 'web', 90)}`, `$${countField('Order Completed', 'store', 90)}`] }, 1] },
    },
    rules: {
      all: [
        { fact: 'profile', path: `$.c['Page Viewed|web'].d3`, operator: 'greaterThanInclusive', value: 1 },
        { not: { fact: 'profile', path: '$.traits.tier', operator: 'equal', value: 'standard' } },
        { fact: 'ordersWebStore90', operator: 'lessThan', value: 1 },
      ],
    },
  },
];

function makeProfiles(count: number, random: () => number): Profile[] {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  return Array.from({ length: count }, (_, i) => {
    const profile = newProfile(`p_${String(i).padStart(8, '0')}`, new Date(NOW - 400 * DAY_MS).toISOString());
    profile.traits = {
      tier: pick(['vip', 'standard', 'standard', 'gold']),
      city: pick(['nice', 'paris', 'lyon', 'cannes', 'lille']),
      age: 18 + Math.floor(random() * 60),
      plan: pick(['free', 'pro', 'team']),
    };
    for (const [key, rate] of [
      ['Order Completed|store', 0.03],
      ['Order Completed|web', 0.02],
      ['Page Viewed|web', 0.3],
      ['Email Opened|email', 0.1],
    ] as const) {
      const buckets: number[] = [];
      for (let d = 0; d < 400; d++) if (random() < rate) buckets.push(TODAY - d, 1 + Math.floor(random() * 3));
      if (buckets.length > 0) profile.aggregates[key] = buckets;
    }
    return profile;
  });
}

/** What the peers get: the same profile with every windowed count precomputed (not timed). */
function flatten(profile: Profile): Record<string, unknown> {
  const c: Record<string, Record<string, number>> = {};
  for (const key of ['Order Completed|store', 'Order Completed|web', 'Page Viewed|web', 'Email Opened|email']) {
    const buckets = profile.aggregates[key] ?? [];
    c[key] = Object.fromEntries(WINDOWS.map((days) => [`d${days}`, countSince(buckets, TODAY - days + 1)]));
  }
  return { profileId: profile.profileId, traits: profile.traits, c };
}

export async function run(options: { profiles?: number } = {}): Promise<BenchResult> {
  const profiles = makeProfiles(options.profiles ?? 20_000, seededRandom(7));
  const documents = profiles.map(flatten);

  const compiled = cases.map((c) => compile(c.prisme));
  const queries = cases.map((c) => new Query(c.mongo));
  const engine = new Engine([], { allowUndefinedFacts: true });
  for (const [i, c] of cases.entries()) engine.addRule({ conditions: c.rules, event: { type: String(i) }, name: c.name } as RuleProperties);
  engine.addFact('ordersWebStore90', async (_params, almanac) => {
    const profile = (await almanac.factValue('profile')) as { c: Record<string, Record<string, number>> };
    return profile.c['Order Completed|web']!.d90! + profile.c['Order Completed|store']!.d90!;
  });

  // The three must agree on every profile x segment, or the figures mean nothing.
  const none = new Set<string>();
  const expected = profiles.map((p) => compiled.map((matches) => matches(p, NOW, none)));
  let disagreements = 0;
  for (let i = 0; i < profiles.length; i++) {
    const mongo = queries.map((q) => q.test(documents[i]!));
    const { events } = await engine.run({ profile: documents[i] });
    const rules = cases.map((_, k) => events.some((e) => e.type === String(k)));
    for (let k = 0; k < cases.length; k++) if (mongo[k] !== expected[i]![k] || rules[k] !== expected[i]![k]) disagreements++;
  }
  if (disagreements > 0) throw new Error(`engines disagree on ${disagreements} profile x segment results`);
  const members = cases.map((_, k) => expected.filter((row) => row[k]).length);

  const evaluations = profiles.length * cases.length;
  const prisme = await measure(() => {
    let hits = 0;
    for (const profile of profiles) for (const matches of compiled) if (matches(profile, NOW, none)) hits++;
    return hits;
  }, evaluations);
  const mingo = await measure(() => {
    let hits = 0;
    for (const doc of documents) for (const query of queries) if (query.test(doc)) hits++;
    return hits;
  }, evaluations);
  const rulesEngine = await measure(
    async () => {
      let hits = 0;
      for (const doc of documents) hits += (await engine.run({ profile: doc })).events.length;
      return hits;
    },
    evaluations,
    { minSeconds: 1, maxRounds: 3 },
  );

  return {
    name: 'segment-evaluation',
    description: `${profiles.length.toLocaleString('en')} profiles x ${cases.length} segments (members: ${members.join(', ')}); results agree across engines`,
    unit: 'evaluations/s',
    figures: { prisme: prisme.perSecond, mingo: mingo.perSecond, 'json-rules-engine': rulesEngine.perSecond },
    ratios: {
      'prisme / mingo': prisme.perSecond / mingo.perSecond,
      'prisme / json-rules-engine': prisme.perSecond / rulesEngine.perSecond,
    },
    targets: { 'prisme / mingo': 3, 'prisme / json-rules-engine': 10 },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { profiles: { type: 'string' } } });
  const result = await run({ profiles: values.profiles ? Number(values.profiles) : undefined });
  for (const [engineName, rate] of Object.entries(result.figures))
    console.log(`${engineName.padEnd(20)} ${formatRate(rate)} ${result.unit}`);
  for (const [ratio, value] of Object.entries(result.ratios)) console.log(`${ratio.padEnd(28)} ${value.toFixed(1)}x`);
}
