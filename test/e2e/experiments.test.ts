/**
 * An A/B/n experiment on an audience, through the public API: 300 people identified by the official
 * Node library, an audience split into two variants and a holdout (40/40/20), one Brevo file per variant fetched
 * by its presigned link, then orders posted for part of each group and the KPIs reporting each
 * variant against the control with its interval, test and verdict.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Analytics } from '@segment/analytics-node';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '#local/runtime';
import { adminClient, eventually, startTestRuntime } from '../helpers/local';

let runtime: LocalRuntime;
let admin: ReturnType<typeof adminClient>;
const people = Array.from({ length: 300 }, (_, i) => `user-${String(i).padStart(3, '0')}`);
const experiment = {
  variants: [
    { name: 'subject-a', percent: 40 },
    { name: 'subject-b', percent: 40 },
    { name: 'control', percent: 20, holdout: true },
  ],
};

const send = async (post: (analytics: Analytics) => void) => {
  const analytics = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 100, flushInterval: 50 });
  const failures: unknown[] = [];
  analytics.on('error', (error) => failures.push(error));
  post(analytics);
  await analytics.closeAndFlush();
  expect(failures).toEqual([]);
  await runtime.drain(60_000);
};

beforeAll(async () => {
  runtime = await startTestRuntime();
  admin = adminClient(runtime);
  expect(
    (
      await admin.put('/v1/segments/newsletter', {
        name: 'Newsletter readers',
        condition: { type: 'trait', trait: 'newsletter', operator: 'eq', value: true },
      })
    ).status,
  ).toBe(201);
  await send((analytics) => {
    for (const userId of people) analytics.identify({ userId, traits: { email: `${userId}@example.com`, newsletter: true } });
  });
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
});

describe('an A/B/n experiment on an audience', () => {
  it('refuses a careless experiment with the field at fault', async () => {
    const base = { name: 'Spring', segmentId: 'newsletter', fields: ['userId', 'email'] };
    const cases = [
      [
        {
          variants: [
            { name: 'a', percent: 50 },
            { name: 'b', percent: 40 },
          ],
        },
        {},
        'experiment.variants',
      ],
      [
        {
          variants: [
            { name: '__proto__', percent: 50 },
            { name: 'b', percent: 50 },
          ],
        },
        {},
        'experiment.variants.0.name',
      ],
      [experiment, { holdoutPercent: 10 }, 'holdoutPercent'],
    ] as const;
    for (const [given, extra, path] of cases) {
      const refused = await admin.put('/v1/audiences/careless', { ...base, ...extra, experiment: given });
      expect(refused.status).toBe(400);
      expect(refused.body.error.details.map((d: { path: string }) => d.path)).toEqual([path]);
    }
  });

  it('exports each variant to its own ESP file, keeps the control out, and compares conversions with significance', async () => {
    const saved = await admin.put('/v1/audiences/spring', {
      name: 'Spring newsletter',
      segmentId: 'newsletter',
      fields: ['userId', 'email'],
      preset: 'brevo',
      experiment,
    });
    expect(saved).toMatchObject({
      status: 201,
      body: { experiment: { variants: [{ holdout: false }, { holdout: false }, { holdout: true }] } },
    });
    const preview = (await admin.get('/v1/audiences/spring/preview')).body;
    expect(preview.members + preview.holdout).toBe(people.length);
    expect(preview.variants.map((v: { name: string }) => v.name)).toEqual(['subject-a', 'subject-b']);
    expect((await admin.post('/v1/audiences/spring/approve', { approvedBy: 'marie' })).status).toBe(200);

    const { runId } = (await admin.post('/v1/audiences/spring/snapshots')).body;
    const run = await eventually(
      async () => (await admin.get(`/v1/audiences/spring/snapshots/${runId}`)).body,
      (r) => r.status === 'succeeded' || r.status === 'failed',
    );
    expect(run.status).toBe('succeeded');
    expect(run.progress.variants.map((v: { espKey: string }) => v.espKey)).toEqual([
      `esp/brevo/spring/subject-a/${runId}.csv`,
      `esp/brevo/spring/subject-b/${runId}.csv`,
    ]);

    // Each variant's file, fetched with no credentials by its link: disjoint, and with the control, everyone.
    const variants = new Map<string, string[]>();
    for (const name of ['subject-a', 'subject-b']) {
      const link = await admin.get(`/v1/audiences/spring/snapshots/${runId}/esp-url?variant=${name}`);
      expect(link.status).toBe(200);
      const [header, ...rows] = parse(await (await fetch(link.body.url)).text()) as string[][];
      expect(header).toEqual(['EXT_ID', 'USERID', 'EMAIL']);
      variants.set(
        name,
        rows.map(([, userId]) => userId!),
      );
    }
    expect((await admin.get(`/v1/audiences/spring/snapshots/${runId}/esp-url`)).body.error.details).toEqual([
      { path: 'variant', message: 'one of subject-a, subject-b' },
    ]);
    // What an ESP checks on its side, on the run's folder as s3rver keeps it: each variant's list verifies.
    const verified = await promisify(execFile)(
      'npx',
      ['tsx', 'cli/prisme.ts', 'verify-snapshot', join(runtime.dataDir, 's3', runtime.bucket, 'audiences', 'spring')],
      { cwd: resolve(import.meta.dirname, '../..') },
    );
    expect(verified.stdout).toMatch(/ok {4}variants\/subject-a\/members-00000\.csv\.gz/);
    expect(verified.stdout).toContain(`Verified: ${run.progress.members} members`);
    const exported = [...variants.values()].flat();
    expect(new Set(exported).size).toBe(exported.length);
    const control = people.filter((p) => !exported.includes(p));
    expect(run.progress.holdout).toBe(control.length);
    for (const [name, share] of [
      ['subject-a', 0.4],
      ['subject-b', 0.4],
    ] as const)
      expect(Math.abs(variants.get(name)!.length - people.length * share)).toBeLessThan(3 * Math.sqrt(people.length * share * (1 - share)));

    // After the send: half of subject A orders, a fifth of subject B, a fifth of the control.
    const buyers = [
      ...variants.get('subject-a')!.filter((_, i) => i % 2 === 0),
      ...variants.get('subject-b')!.filter((_, i) => i % 5 === 0),
      ...control.filter((_, i) => i % 5 === 0),
    ];
    // Order instants are kept to the second: an order in the export's own second could be either side of it.
    await new Promise((next) => setTimeout(next, 1_000 - (Date.now() % 1_000)));
    await send((analytics) => {
      for (const userId of buyers) analytics.track({ userId, event: 'Order Completed', properties: { revenue: 30 } });
    });
    const { conversion } = (await admin.get('/v1/audiences/spring/kpis')).body;
    const count = (list: string[], every: number) => ({ members: list.length, converted: Math.ceil(list.length / every) });
    expect(conversion).toMatchObject({ runId, complete: true, control: 'control' });
    expect(conversion.variants).toMatchObject([
      { name: 'subject-a', control: false, ...count(variants.get('subject-a')!, 2), verdict: 'better' },
      { name: 'subject-b', control: false, ...count(variants.get('subject-b')!, 5), verdict: 'no difference' },
      { name: 'control', holdout: true, control: true, ...count(control, 5) },
    ]);
    const [a, b] = conversion.variants;
    expect(a.interval[0]).toBeLessThan(a.rate);
    expect(a.interval[1]).toBeGreaterThan(a.rate);
    expect(a.upliftInterval[0]).toBeGreaterThan(0);
    expect(a.adjustedPValue).toBeLessThan(0.05);
    expect(b.upliftInterval[0]).toBeLessThan(0);
    expect(b.upliftInterval[1]).toBeGreaterThan(0);
    expect(b.note).toMatch(/^(no significant difference at 95 %|the same rate as the control)/);
  });
});
