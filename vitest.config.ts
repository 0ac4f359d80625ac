import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Generous: the suite runs heavy files (CDK synth, child processes) side by side on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Vitest's default is one worker fewer than the cores: one file at a time on 2 cores. Most files wait on
    // runtimes and emulators, so two at a time halve the suite (measured: 973 s one at a time, 535 s two).
    maxWorkers: 2,
    // The AWS SDK's Node 22 notice (see local/node-version.ts), once per test process otherwise.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
