import { defineConfig } from 'vitest/config';

// Two groups, one after the other. First the unit and integration tests, two files at a time
// (two cores). Then the browser end-to-end tests one file at a time: each runs a testnet plus two
// Chromiums, and what they measure (audio timing, link packet rates) must not share the CPU with
// another file's 60-relay testnet.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['test/global-setup.ts'],
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'relay',
          include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/e2e/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
