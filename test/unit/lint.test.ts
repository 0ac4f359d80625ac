/**
 * The lint that `npm test` runs is able to fail: the project's Biome configuration refuses what the
 * house rules forbid (a shadowed name, an unused variable or import, an `any` outside tests) and
 * accepts the same code written cleanly.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const biome = join(root, 'node_modules', '.bin', 'biome');

function lint(code: string): { ok: boolean; output: string } {
  const file = join(mkdtempSync(join(tmpdir(), 'prisme-lint-')), 'probe.ts');
  writeFileSync(file, code);
  try {
    return {
      ok: true,
      output: execFileSync(biome, ['lint', `--config-path=${join(root, 'biome.jsonc')}`, file], { encoding: 'utf8', stdio: 'pipe' }),
    };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

describe('the lint in npm test', () => {
  it.each([
    ['a shadowed name', 'export const limit = 1;\nexport function page() {\n  const limit = 2;\n  return limit;\n}\n', 'noShadow'],
    ['an unused variable', 'export function page() {\n  const unused = 2;\n  return 1;\n}\n', 'noUnusedVariables'],
    ['an unused import', "import { join } from 'node:path';\nexport const one = 1;\n", 'noUnusedImports'],
    ['an explicit any', 'export const parse = (text: string): any => JSON.parse(text);\n', 'noExplicitAny'],
  ])('refuses %s', (_, code, rule) => {
    const { ok, output } = lint(code);
    expect(ok).toBe(false);
    expect(output).toContain(rule);
  });

  it('accepts the same code written cleanly', () => {
    expect(lint('export const limit = 1;\nexport function page(size: number) {\n  return Math.min(size, limit);\n}\n').ok).toBe(true);
  });
});
