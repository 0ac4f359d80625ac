/**
 * `npm start` as a user runs it: a separate process that prints its URL and
 * keys, honours PORT / PRISME_WRITE_KEY / PRISME_ADMIN_TOKEN, and loses no
 * acknowledged event when it is killed with SIGKILL and started again.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const children: ChildProcessWithoutNullStreams[] = [];

interface Started {
  child: ChildProcessWithoutNullStreams;
  url: string;
  output: () => string;
}

function start(dataDir: string): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: '0',
      PRISME_DATA_DIR: dataDir,
      PRISME_WRITE_KEY: 'wk_test_key',
      PRISME_ADMIN_TOKEN: 'adm_test_token',
      PRISME_VISIBILITY_TIMEOUT_S: '1',
      LOG_LEVEL: 'WARN',
    },
  });
  children.push(child);
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`npm start printed no URL in 30 s:\n${output}`)), 30_000);
    child.stdout.on('data', () => {
      const url = /API\s+(http:\/\/\S+)/.exec(output)?.[1];
      if (url) {
        clearTimeout(timer);
        done({ child, url, output: () => output });
      }
    });
    child.on('exit', (code) => fail(new Error(`npm start exited with ${code}:\n${output}`)));
  });
}

const basic = `Basic ${Buffer.from('wk_test_key:').toString('base64')}`;
const admin = { authorization: 'Bearer adm_test_token' };

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

describe('npm start', () => {
  it('prints the API URL, the write key and the admin token it was given', async () => {
    const { url, output } = await start(mkdtempSync(join(tmpdir(), 'prisme-start-')));
    expect(output()).toContain('Write key    wk_test_key');
    expect(output()).toContain('Admin token  adm_test_token');
    expect(output()).toContain(`Console      ${url}/console/#token=adm_test_token`);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    // The console: / leads to it, the page and its files are served, a path out of its folder is not.
    const home = await fetch(`${url}/`, { redirect: 'manual' });
    expect([home.status, home.headers.get('location')]).toEqual([302, '/console/']);
    const page = await fetch(`${url}/console/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    const script = /src="\/console\/(assets\/[^"]+\.js)"/.exec(await page.text())![1]!;
    const asset = await fetch(`${url}/console/${script}`);
    expect([asset.status, asset.headers.get('cache-control')]).toEqual([200, 'public, max-age=31536000, immutable']);
    expect((await fetch(`${url}/console/..%2f..%2fpackage.json`)).status).toBe(404);
  });

  it('keeps every acknowledged event, exactly once, across kill -9 and restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'prisme-kill-'));
    const first = await start(dataDir);
    // One person per batch: after the restart each person must hold exactly the batch's 20 events if it was
    // acknowledged, and 0 or 20 if the process died before answering; never a partial or a doubled count.
    const outcome = new Map<string, 'acknowledged' | 'unknown'>();
    const post = async (batch: number) => {
      const userId = `u${batch}`;
      const events = Array.from({ length: 20 }, (_, i) => ({ type: 'track', event: 'Tick', userId, messageId: `${userId}-e${i}` }));
      outcome.set(userId, 'unknown');
      try {
        const response = await fetch(`${first.url}/v1/batch`, {
          method: 'POST',
          headers: { authorization: basic, 'content-type': 'application/json' },
          body: JSON.stringify({ batch: events }),
        });
        if (response.status === 200) outcome.set(userId, 'acknowledged');
      } catch {
        // The process died mid-request: never acknowledged.
      }
    };
    // Keep posting while the process is killed, so some batches are in flight at the moment of death.
    const stream = (async () => {
      for (let batch = 0; batch < 2000 && first.child.exitCode === null && first.child.signalCode === null; batch += 4) {
        await Promise.all([0, 1, 2, 3].map((k) => post(batch + k)));
      }
    })();
    await new Promise((r) => setTimeout(r, 1500));
    first.child.kill('SIGKILL');
    await stream;
    const acknowledged = [...outcome].filter(([, o]) => o === 'acknowledged').map(([u]) => u);
    expect(acknowledged.length).toBeGreaterThan(10);

    const second = await start(dataDir);
    const deadline = Date.now() + 60_000;
    while (((await (await fetch(`${second.url}/health`)).json()) as { queue: { messages: number } }).queue.messages > 0) {
      if (Date.now() > deadline) throw new Error(`queue did not drain after restart\n${second.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const countOf = async (userId: string) => {
      const response = await fetch(`${second.url}/v1/profiles?userId=${userId}`, { headers: admin });
      return response.status === 200 ? ((await response.json()) as { channels: { web: number } }).channels.web : 0;
    };
    for (const [userId, result] of outcome) {
      const count = await countOf(userId);
      if (result === 'acknowledged') expect(count, userId).toBe(20);
      else expect([0, 20], userId).toContain(count);
    }
  }, 120_000);
});
