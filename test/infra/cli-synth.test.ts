/** `npx cdk synth` exactly as a user runs it: the CLI, offline, with no AWS credentials. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
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
  // Minified, but errors keep their class names in the logs (PrismeError names itself from its class).
  const bundles = readdirSync(out).filter((dir) => dir.startsWith('asset.') && existsSync(join(out, dir, 'index.js')));
  expect(bundles.length).toBeGreaterThan(0);
  const processor = bundles
    .map((dir) => readFileSync(join(out, dir, 'index.js'), 'utf8'))
    .find((code) => code.includes('PoisonMessageError'));
  // esbuild's keepNames names each class by a call (this, "Name"); a minified class without it would log as a letter.
  expect(/\(this, ?"PoisonMessageError"\)/.test(processor ?? ''), 'the processor bundle names PoisonMessageError').toBe(true);
}, 150_000);
