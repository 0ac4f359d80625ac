/** `npm run prisme -- replay`: archived events through the processor again, harmless on live profiles, erased people unreadable. */

import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Analytics } from '@segment/analytics-node';
import { describe, expect, it } from 'vitest';
import { adminClient, eventually, useTestRuntime } from '../helpers/local';

const local = useTestRuntime();

describe('prisme replay', () => {
  it('sends the archive again: live profiles keep their counts, erased people stay unreadable', async () => {
    const runtime = local();
    const admin = adminClient(runtime);
    const analytics = new Analytics({ writeKey: runtime.writeKey, host: runtime.url, flushAt: 10, flushInterval: 20 });
    for (let i = 0; i < 3; i++)
      analytics.track({ userId: 'rita', event: 'Order Completed', properties: { revenue: 5 }, context: { channel: 'store' } });
    analytics.track({ userId: 'erwin', event: 'Page Viewed' });
    await analytics.closeAndFlush();
    await runtime.drain();
    const erasure = (await admin.delete('/v1/profiles?userId=erwin')).body;
    await eventually(
      async () => (await admin.get(`/v1/erasures/${erasure.erasureId}`)).body,
      (e) => e.status === 'succeeded',
    );

    const today = new Date().toISOString().slice(0, 10);
    const { stdout } = await promisify(execFile)(
      'npx',
      ['tsx', 'cli/prisme.ts', 'replay', '--from', today, '--to', today, '--data-dir', runtime.dataDir],
      {
        cwd: resolve(import.meta.dirname, '../..'),
      },
    );
    expect(stdout).toMatch(/^Replay \d+T\d+Z: /);
    expect(stdout).toMatch(/Succeeded: 3 events from \d+ archive objects sent again, 1 unreadable \(erased people\)\./);
    await runtime.drain();
    expect((await admin.get('/v1/profiles?userId=rita')).body.channels).toEqual({ store: 3 });
    expect((await admin.get('/v1/profiles?userId=erwin')).status).toBe(404);
    expect((await admin.post('/v1/jobs/replay', { from: today, to: '2020-01-01' })).status).toBe(400);
  });
});
