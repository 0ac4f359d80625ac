/** `npx cdk synth` exactly as a user runs it: the CLI, offline, with no AWS credentials. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

it('synthesises both stacks with the project CLI and no AWS account', async () => {
  const out = mkdtempSync(join(tmpdir(), 'prisme-synth-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_') && !key.startsWith('CDK_')));
  const { stdout, stderr } = await promisify(execFile)('npx', ['cdk', 'synth', '--quiet', '--no-notices', '-o', out], {
    cwd: resolve(import.meta.dirname, '../..'),
    env: { ...env, AWS_EC2_METADATA_DISABLED: 'true' },
    timeout: 120_000,
  });
  // The CLI writes its messages to stderr, or to stdout when CI=true.
  expect(stdout + stderr).toContain('Successfully synthesized');
  expect(existsSync(join(out, 'Prisme.template.json'))).toBe(true);
  expect(existsSync(join(out, 'PrismeData.template.json'))).toBe(true);
}, 150_000);
