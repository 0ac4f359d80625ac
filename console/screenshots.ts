/**
 * `npm run screenshots`: the pictures in docs/console.md, taken in Debian's Chromium from a local
 * runtime filled by `npm run demo` (a few hundred people across web, app, store, email and events).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { sdkNodeNotice } from '#local/node-version';
import { adminClient } from '../local/admin-client';
import { startLocal } from '../local/runtime';
import { launchChromium } from '../test/helpers/browser';

sdkNodeNotice();

const root = resolve(import.meta.dirname, '..');
const out = resolve(root, 'docs', 'img');
mkdirSync(out, { recursive: true });
const progress = (message: string) => process.stderr.write(`screenshots: ${message}\n`);

const runtime = await startLocal({
  dataDir: mkdtempSync(join(tmpdir(), 'prisme-shots-')),
  port: 0,
  schedules: false,
  segmentCacheTtlMs: 0,
  batchingWindowMs: 0,
  logLevel: 'SILENT',
});
const browser = await launchChromium();
try {
  progress('running the demo (400 people)');
  await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'local/demo.ts', '--url', runtime.url, '--people', '400', '--data-dir', runtime.dataDir],
    { cwd: root },
  );
  await runtime.drain(120_000);
  const admin = async (path: string) => (await adminClient(runtime).get(path)).body;

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-GB' });
  const shot = async (name: string, hash: string, ready: string, before?: () => Promise<void>) => {
    await page.goto(`${runtime.url}/console/${hash}`);
    await page.getByText(ready).first().waitFor();
    await before?.();
    await page.waitForTimeout(600); // previews and charts settle
    await page.screenshot({ path: join(out, `console-${name}.png`), fullPage: true });
    progress(`console-${name}.png`);
  };
  await page.goto(`${runtime.url}/console/#token=${runtime.adminToken}`);

  const { segments } = (await admin('/v1/segments')) as { segments: Array<{ id: string; size: number; managedBy?: string }> };
  const biggest = segments.filter((s) => !s.managedBy).sort((a, b) => b.size - a.size)[0]!;
  const member = ((await admin(`/v1/segments/${biggest.id}/members?limit=1`)) as { members: Array<{ profileId: string }> }).members[0]!;

  await shot('segments', '#/segments', 'Migrations, last 30 days');
  await shot('segment', `#/segments/${biggest.id}`, 'Size over time', async () => {
    // Why the member is in it, as a checklist in words.
    const { identifiers } = (await admin(`/v1/profiles/${member.profileId}`)) as { identifiers: Record<string, string[]> };
    const [type, values] = Object.entries(identifiers).find(([t]) => t !== 'anonymousId')!;
    await page.getByLabel('Email, user id, or type=value').fill(`${type}=${values[0]}`);
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.getByTestId('explain-checklist').waitFor();
  });
  await page.goto(`${runtime.url}/console/#/segments/new`);
  await page.getByLabel('Id', { exact: true }).fill('store-regulars');
  await page.getByLabel('Name', { exact: true }).fill('Store regulars');
  await page.getByLabel('Channel').selectOption('store');
  await page.getByLabel('How often').selectOption('gte');
  await page.getByLabel('Times').fill('2');
  await page.getByLabel('Within days').fill('180');
  await page.waitForTimeout(1200);
  await page.screenshot({ path: join(out, 'console-segment-builder.png'), fullPage: true });
  progress('console-segment-builder.png');
  await shot('profile', `#/profiles/${member.profileId}`, 'Recent behaviour');
  await shot('audience', '#/audiences/recent-visitors-email', 'Snapshot runs', async () => {
    // Approving asks first, with the size against the last approval and the guard.
    await page.getByRole('button', { name: 'Approve this size' }).click();
    await page.getByTestId('approval-confirmation').waitFor();
  });
  await shot('jobs', '#/jobs', 'Daily freeze');
} finally {
  await browser.close();
  await runtime.stop();
}
