import { defineConfig } from 'vitest/config';

// Guest programs run under an emulator (ours and qemu), so tests get generous time limits.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Builds build/guest/{busybox,bin,bench} with `npm run guest` when they are missing or stale.
    globalSetup: ['tests/setup/guest-binaries.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    // Each test file starts its own emulated machines; two cores, so keep the parallelism modest.
    pool: 'forks',
    maxWorkers: 2,
  },
});
