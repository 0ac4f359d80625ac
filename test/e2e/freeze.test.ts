/**
 * The daily freeze end to end, run now through the admin API on the local runtime: frozen
 * indicators on profiles, clusters described, and a segment on a frozen indicator filled.
 */
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '#local/runtime';
import type { DetailType } from '#shared/contracts/detail-types';
import { eventContracts } from '#shared/contracts/events';
import { membershipChanges } from '../helpers/events';
import { adminClient, eventually, startTestRuntime } from '../helpers/local';

let runtime: LocalRuntime;
let admin: ReturnType<typeof adminClient>;
const ago = (days: number) => new Date(Date.now() - days * 86_400_000);
/** The instant of an ISO-8601 string as the API writes it (UTC, milliseconds), or a failed expectation. */
const isoInstant = (value: unknown): number => {
  expect(value).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  return Date.parse(value as string);
};

beforeAll(async () => {
  runtime = await startTestRuntime();
  admin = adminClient(runtime);
  expect(
    (
      await admin.put('/v1/segments/champions', {
        name: 'RFM champions',
        condition: { type: 'indicator', indicator: 'rfm_label', operator: 'eq', value: 'champions' },
      })
    ).status,
  ).toBe(201);
  const analytics = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 100, flushInterval: 20 });
  for (let i = 0; i < 30; i++) {
    // Shoppers: shopper-29 buys most, most recently; readers click emails and never buy.
    for (let k = 0; k <= i % 6; k++) {
      const category = i % 3 === 0 ? 'shoes' : 'bags';
      analytics.track({
        userId: `shopper-${i}`,
        event: 'Order Completed',
        properties: { revenue: 20 + i * 5, category },
        context: { channel: 'store' },
        timestamp: ago(1 + (((30 - i) * 3 + k * 11) % 200)),
      });
    }
    for (let k = 0; k < 3; k++)
      analytics.track({
        userId: `reader-${i}`,
        event: 'Email Link Clicked',
        context: { channel: 'email' },
        timestamp: ago(1 + ((i + k * 7) % 40)),
      });
  }
  await analytics.closeAndFlush();
  await runtime.drain();
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
});

describe('the daily freeze, run now', () => {
  it('freezes RFM, churn risk and clusters for every profile, and fills the segments that use them', async () => {
    const requestedFrom = Date.now();
    const requested = await admin.post('/v1/jobs/freeze');
    const requestedBy = Date.now();
    expect(requested.status).toBe(202);
    const run = await eventually(
      async () => (await admin.get(`/v1/jobs/freeze/runs/${requested.body.runId}`)).body,
      (r) => r.status === 'succeeded' || r.status === 'failed',
      60_000,
    );
    const observedBy = Date.now();
    // 60 profiles (30 shoppers, 30 readers) measured, scored and written; the only transitions are the
    // three champions' entries (checked against the bus below).
    expect(run).toMatchObject({
      status: 'succeeded',
      phase: 'done',
      progress: { segments: 4, measured: 60, profiles: 60, frozenWritten: 60, transitions: 3 },
    });
    // The run id is the instant of the request; the workers start after it and finish before we saw them done.
    expect(requested.body.runId).toMatch(/^\d{8}T\d{9}Z$/);
    const requestedAt = Date.parse(
      requested.body.runId.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)(\d{3})Z$/, '$1-$2-$3T$4:$5:$6.$7Z'),
    );
    expect(requestedAt).toBeGreaterThanOrEqual(requestedFrom);
    expect(requestedAt).toBeLessThanOrEqual(requestedBy);
    const startedAt = isoInstant(run.startedAt);
    const finishedAt = isoInstant(run.finishedAt);
    expect(startedAt).toBeGreaterThanOrEqual(requestedAt);
    expect(finishedAt).toBeGreaterThanOrEqual(startedAt);
    expect(finishedAt).toBeLessThanOrEqual(observedBy);
    // The duration the run reports is its own start to finish, to the millisecond.
    expect(run.progress.durationMs).toBe(finishedAt - startedAt);

    const clusters = (await admin.get('/v1/indicators/clusters')).body;
    expect(clusters.runId).toBe(requested.body.runId);
    // The clusters are as of the run's end.
    expect(clusters.frozenAt).toBe(run.finishedAt);
    expect(clusters.k).toBeGreaterThanOrEqual(2);
    const described = clusters.descriptions.map((c: { description: string }) => c.description).join(' | ');
    expect(described).toMatch(/store buyers/);
    expect(described).toMatch(/email readers/);

    const best = (await admin.get('/v1/profiles?userId=shopper-29')).body;
    expect(best.indicators).toMatchObject({ rfm_monetary_score: 5, rfm_recency_score: 5 });
    expect(best.indicators.rfm_label).toBe('champions');
    expect(best.indicators.churn_risk).toBeGreaterThan(0);
    expect(best.indicators.churn_risk).toBeLessThan(1);
    expect(typeof best.indicators.cluster).toBe('number');
    // Frozen by this run: when its scoring pass began, inside the run.
    const frozenAt = isoInstant(best.frozenAt);
    expect(frozenAt).toBeGreaterThanOrEqual(startedAt);
    expect(frozenAt).toBeLessThanOrEqual(finishedAt);
    // The champion entered the segment as the run scored it, after its values were frozen.
    const entered = best.segments.find((s: { id: string }) => s.id === 'champions');
    expect(isoInstant(entered.enteredAt)).toBeGreaterThanOrEqual(frozenAt);
    expect(isoInstant(entered.enteredAt)).toBeLessThanOrEqual(finishedAt);
    // Shoes are a third of everyone's interest and all of shopper-27's: an appetite, lift 3.
    expect((await admin.get('/v1/profiles?userId=shopper-27')).body.indicators).toMatchObject({
      top_category: 'shoes',
      favourite_category: 'shoes',
    });
    expect(best.indicators).toMatchObject({ top_category: 'bags', favourite_category: 'bags' });
    const reader = (await admin.get('/v1/profiles?userId=reader-3')).body;
    expect(reader.indicators).toMatchObject({ rfm_monetary_score: 1 });
    const readerFrozenAt = isoInstant(reader.frozenAt);
    expect(readerFrozenAt).toBeGreaterThanOrEqual(startedAt);
    expect(readerFrozenAt).toBeLessThanOrEqual(finishedAt);
    expect(reader.indicators.churn_risk).toBeUndefined();
    expect(reader.indicators.cluster).not.toBe(best.indicators.cluster);

    const members = (await admin.get('/v1/segments/champions/members?limit=1000')).body.members.map(
      (m: { profileId: string }) => m.profileId,
    );
    expect(members).toContain(best.profileId);
    expect(members).not.toContain(reader.profileId);
    const entries = membershipChanges(runtime.bus.published).filter((t) => t.segmentId === 'champions');
    expect(members).toHaveLength(3);
    expect(entries).toHaveLength(members.length);
    expect(entries.every((t) => t.reason === 'time' && t.change === 'entered')).toBe(true);

    // Every event the run published (its workers' requests too) keeps its published contract.
    for (const event of runtime.bus.published) eventContracts[event['detail-type'] as DetailType].parse(event.detail);

    const why = (await admin.get(`/v1/profiles/${best.profileId}/segments/champions/explain`)).body.explanation;
    expect(why).toEqual({ condition: 'indicator rfm_label eq "champions"', held: true, seen: { rfm_label: 'champions' } });
  });
});
