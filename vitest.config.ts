import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // native code runs in forked processes, so a crash fails a test file instead of the runner
    pool: 'forks',
    testTimeout: 30_000,
  },
});
