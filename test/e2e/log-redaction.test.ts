/**
 * Personal data never reaches the logs in clear at info level: a stream full of it goes through every
 * handler of a running Prisme (ingest, processor, merges, segments, a snapshot, the freeze, an erasure),
 * and the process's own log output is searched for each value.
 */
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '#local/runtime';
import { adminClient, eventually, startTestRuntime } from '../helpers/local';

const SECRETS = [
  'Adalinda',
  'Lovelacewski',
  'ada.secret@example.com',
  '+33612345678',
  '0612345678',
  'ada-user-4711',
  'anon-ada-99',
  'LC-SECRET-1',
  '12 rue Secrète',
];

let runtime: LocalRuntime;
let logged = '';
const originals = { stdout: process.stdout.write.bind(process.stdout), stderr: process.stderr.write.bind(process.stderr) };

beforeAll(async () => {
  // Everything the process prints from here on, as a log shipper would collect it (and kept off the test output).
  const capture = ((chunk: string | Uint8Array) => {
    logged += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = capture; // info
  process.stderr.write = capture; // warnings and errors
  runtime = await startTestRuntime({ logLevel: 'INFO' });
}, 120_000);
afterAll(async () => {
  process.stdout.write = originals.stdout;
  process.stderr.write = originals.stderr;
  await runtime?.stop();
});

describe('logs', () => {
  it('never hold personal data in clear at info level', async () => {
    const admin = adminClient(runtime);
    await admin.put('/v1/segments/buyers', { name: 'Buyers', condition: { type: 'event', event: 'Order Completed' } });
    const analytics = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 10, flushInterval: 20 });
    analytics.page({ anonymousId: 'anon-ada-99', name: 'Home' });
    analytics.identify({
      userId: 'ada-user-4711',
      anonymousId: 'anon-ada-99',
      traits: {
        firstName: 'Adalinda',
        lastName: 'Lovelacewski',
        email: 'Ada.Secret@example.com',
        phone: '0612345678',
        address: { street: '12 rue Secrète' },
        loyaltyCard: 'LC-SECRET-1',
      },
    });
    analytics.track({ userId: 'ada-user-4711', event: 'Order Completed', properties: { revenue: 10 }, context: { channel: 'store' } });
    analytics.track({ userId: 'anonymous', anonymousId: 'anon-ada-99', event: 'Blocked' }); // a blocked identifier: logged by type and length only
    await analytics.closeAndFlush();
    await runtime.drain();
    await admin.put('/v1/audiences/buyers', {
      name: 'Buyers',
      segmentId: 'buyers',
      fields: ['email', 'phone', 'traits.firstName'],
      minSize: 1,
    });
    await admin.post('/v1/audiences/buyers/approve', { approvedBy: 'ops' });
    const { runId } = (await admin.post('/v1/audiences/buyers/snapshots')).body;
    await eventually(
      async () => (await admin.get(`/v1/audiences/buyers/snapshots/${runId}`)).body,
      (r) => r.status === 'succeeded',
    );
    const freeze = (await admin.post('/v1/jobs/freeze')).body;
    await eventually(
      async () => (await admin.get(`/v1/jobs/freeze/runs/${freeze.runId}`)).body,
      (r) => r.status === 'succeeded',
    );
    const erasure = (await admin.delete('/v1/profiles?userId=ada-user-4711')).body;
    await eventually(
      async () => (await admin.get(`/v1/erasures/${erasure.erasureId}`)).body,
      (r) => r.status === 'succeeded',
    );
    await runtime.drain();

    // The logs were written, at info level, by the handlers: the search is over real output.
    expect(logged).toMatch(/"message":"batch processed"/);
    expect(logged).toMatch(/"message":"snapshot published"/);
    expect(logged).toMatch(/"message":"profile erased"/);
    expect(logged).toMatch(/"message":"blocked identifier value ignored".*"length":9/);
    for (const secret of SECRETS) expect(logged.toLowerCase(), secret).not.toContain(secret.toLowerCase());
  });
});
