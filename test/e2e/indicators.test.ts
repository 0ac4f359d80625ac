/**
 * Dynamic indicators end to end: events from the Segment client, indicators on the profile, stages
 * as managed segments with transitions on the bus, an indicator in a segment, and a changed
 * definition re-evaluating every stored profile.
 */
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '#local/runtime';
import { membershipChanges } from '../helpers/events';
import { adminClient, eventually, startTestRuntime } from '../helpers/local';

let runtime: LocalRuntime;
let admin: ReturnType<typeof adminClient>;
const ago = (days: number) => new Date(Date.now() - days * 86_400_000);
const profileOf = async (userId: string) => (await admin.get(`/v1/profiles?userId=${userId}`)).body;
const stageChanges = (segmentId: string) =>
  membershipChanges(runtime.bus.published)
    .filter((t) => t.segmentId === segmentId)
    .map((t) => [t.change, t.reason]);

beforeAll(async () => {
  runtime = await startTestRuntime();
  admin = adminClient(runtime);
  const analytics = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 50, flushInterval: 20 });
  const track = (userId: string, event: string, days: number, properties: Record<string, unknown> = {}, channel = 'web') =>
    analytics.track({ userId, event, properties, context: { channel }, timestamp: ago(days) });
  // Marc buys in store and online; Lina is a prospect whose signals converge from three sources.
  track('marc', 'Order Completed', 20, { revenue: 120 }, 'store');
  track('marc', 'Order Completed', 5, { revenue: 80 }, 'store');
  track('marc', 'Order Completed', 2, { revenue: 40 });
  analytics.page({ userId: 'lina', name: 'Pricing', context: { channel: 'web' }, timestamp: ago(3) });
  track('lina', 'Brochure Requested', 6, {}, 'event');
  track('lina', 'Reviews Read', 1);
  track('nora', 'Email Opened', 2, {}, 'email');
  await analytics.closeAndFlush();
  await runtime.drain();
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
});

describe('dynamic indicators', () => {
  it('are on the profile, per channel where it matters', async () => {
    const marc = await profileOf('marc');
    expect(marc.indicators).toMatchObject({
      orders: 3,
      revenue: 240,
      average_order_value: 80,
      'orders|store': 2,
      'revenue|store': 200,
      'orders|web': 1,
      channel_affinity: 'omnichannel',
      lifecycle_stage: 'customer',
      days_since_significant_interaction: 2,
    });
    expect(Date.parse(marc.indicators.last_purchase)).toBeGreaterThan(Date.now() - 3 * 86_400_000);
    const lina = await profileOf('lina');
    expect(lina.indicators).toMatchObject({ intent_signals: 3, intent_stage: 'high', lifecycle_stage: 'hot_prospect' });
    expect((await profileOf('nora')).indicators).toMatchObject({
      intent_stage: 'none',
      lifecycle_stage: 'cold_prospect',
      channel_affinity: 'online',
    });
  });

  it('are listed with their definitions, defaults shipped', async () => {
    const { status, body } = await admin.get('/v1/indicators');
    expect(status).toBe(200);
    expect(body.indicators.map((i: { id: string }) => i.id)).toEqual(
      expect.arrayContaining(['engagement_score', 'lifecycle_stage', 'revenue']),
    );
    const engagement = body.definitions.find((d: { id: string }) => d.id === 'engagement');
    expect(engagement).toMatchObject({ revision: 0, isDefault: true, indicators: ['engagement_score', 'lifecycle_stage'] });
    expect(engagement.settings.signals['Order Completed']).toEqual({ points: 50, halfLifeDays: 90 });
  });

  it('make stage changes transitions of managed segments, which cannot be replaced', async () => {
    expect(stageChanges('intent-high')).toEqual([['entered', 'events']]);
    const members = (await admin.get('/v1/segments/lifecycle-customer/members')).body.members.map(
      (m: { profileId: string }) => m.profileId,
    );
    expect(members).toEqual([(await profileOf('marc')).profileId]);
    const replaced = await admin.put('/v1/segments/lifecycle-customer', {
      name: 'Mine',
      condition: { type: 'trait', trait: 'x', operator: 'exists' },
    });
    expect(replaced.status).toBe(409);
    expect(replaced.body.error.message).toContain('managed by Prisme');
    expect((await admin.delete('/v1/segments/intent-high')).status).toBe(409);
  });

  it('can be compared in a segment, and explained', async () => {
    const created = await admin.put('/v1/segments/store-spenders', {
      name: 'Spent 150 or more in store',
      condition: { type: 'indicator', indicator: 'revenue', channel: 'store', operator: 'gte', value: 150 },
    });
    expect(created.status).toBe(201);
    const members = await eventually(
      async () => (await admin.get('/v1/segments/store-spenders/members')).body.members as Array<{ profileId: string }>,
      (list) => list.length > 0,
    );
    const marc = await profileOf('marc');
    expect(members.map((m) => m.profileId)).toEqual([marc.profileId]);
    const why = (await admin.get(`/v1/profiles/${marc.profileId}/segments/store-spenders/explain`)).body;
    expect(why.explanation).toEqual({ condition: 'indicator revenue on store gte 150', held: true, seen: { 'revenue|store': 200 } });
    const bad = await admin.put('/v1/segments/bad', {
      name: 'Bad',
      condition: { type: 'indicator', indicator: 'lifecycle_stage', operator: 'eq', value: 'vip' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('condition.value');
  });

  it('re-evaluate every stored profile when a definition changes', async () => {
    const invalid = await admin.put('/v1/indicators/definitions/intent', {
      withinDays: 30,
      signals: [],
      stages: { high: 1, consideration: 2, exploration: 3 },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details[0].path).toBe('stages');
    expect((await admin.put('/v1/indicators/definitions/mood', {})).status).toBe(404);

    // Four converging signals for high intent from now on: Lina is in consideration... of three.
    const current = (await admin.get('/v1/indicators/definitions/intent')).body.settings;
    const saved = await admin.put('/v1/indicators/definitions/intent', {
      ...current,
      stages: { high: 4, consideration: 3, exploration: 1 },
    });
    expect(saved.status).toBe(201);
    expect(saved.body).toMatchObject({ id: 'intent', revision: 1, isDefault: false });
    const evaluation = await eventually(
      async () => (await admin.get('/v1/indicators/definitions/intent')).body.evaluation,
      (run) => run?.status === 'succeeded',
    );
    expect(evaluation.progress).toMatchObject({ definition: 'intent', revision: 1, profiles: 3 });
    expect(stageChanges('intent-high')).toEqual([
      ['entered', 'events'],
      ['exited', 'definition'],
    ]);
    expect(stageChanges('intent-consideration')).toEqual([['entered', 'definition']]);
    expect((await profileOf('lina')).indicators.intent_stage).toBe('consideration');
    expect((await admin.get('/v1/segments/intent-high')).body).toMatchObject({ managedBy: 'intent_stage', revision: 2, size: 0 });
  });

  it('run the freeze at once when a definition of frozen indicators changes', async () => {
    const saved = await admin.put('/v1/indicators/definitions/clusters', { minK: 2, maxK: 3, pca: false, sampleSize: 500 });
    expect(saved.status).toBe(201);
    expect(saved.body.indicators).toEqual(['cluster']);
    const run = await eventually(
      async () => (await admin.get(`/v1/jobs/freeze/runs/${saved.body.freezeRunId}`)).body,
      (r) => r.status === 'succeeded' || r.status === 'failed',
      60_000,
    );
    expect(run).toMatchObject({ status: 'succeeded', progress: { profiles: 3 } });
    expect((await profileOf('marc')).indicators).toMatchObject({ rfm_label: expect.any(String), churn_risk: expect.any(Number) });
    // A dynamic definition needs no freeze.
    const engagement = (await admin.get('/v1/indicators/definitions/engagement')).body.settings;
    expect((await admin.put('/v1/indicators/definitions/engagement', engagement)).body.freezeRunId).toBeUndefined();
  });
});
