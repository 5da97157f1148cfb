import { defineConfig } from 'vitest/config';

// Two groups, one after the other. First most unit and integration tests, two files at a time (two
// cores). Then, one file at a time, the tests whose figures are timing: the browser end-to-end tests
// (each runs a testnet plus two Chromiums and measures audio timing and link packet rates) and the
// pacing test (a fake clock that waits on real crypto between its steps). They must not share the
// CPU with another file's 60-relay testnet.
// The 2-minute soak (10 relay processes under churn and floods) too: beside it, the 60-relay NSE
// testnet lost rounds to event-loop stalls and missed its history (a fresh-clone CI run).
const SERIAL = [
  'test/e2e/**/*.test.ts',
  'test/unit/client-pacing.test.ts',
  'test/integration/soak-short.test.ts',
  // Issue 15's link observer compares the links' cell rates and timing across a minute of rounds:
  // beside another file's testnet, its idle rounds lost their cover for whole rounds (load ~19).
  'test/integration/onion-link-observer.test.ts',
  // Issue 15's curious hop judges the timing of cells at the hops (9 relay processes, ~30 s).
  'test/integration/onion-curious-hop.test.ts',
];

// The device rig page to page without relays (issue 17) runs when asked for
// (VOIDPHONE_DEVICES_DIRECT=1): voice-devices.test.ts carries the same conversation through the
// devices over the onion in every run, and the call bench's `direct` part measures this path.
const ON_REQUEST = process.env.VOIDPHONE_DEVICES_DIRECT ? [] : ['test/e2e/voice-devices-direct.test.ts'];

// Browser or namespace tests that judge no timing (contents, addresses, cleanup): they run with the
// first group, beside other files, which saves their minute from the serial group's wall time.
const UNTIMED_E2E = [
  'test/e2e/cross-host-advertise.test.ts',
  'test/e2e/cross-host-net.test.ts',
  'test/e2e/contact-consent.test.ts',
];

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
          name: 'parallel',
          include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', ...UNTIMED_E2E],
          exclude: SERIAL.filter((p) => !p.startsWith('test/e2e/')),
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'serial',
          include: SERIAL,
          exclude: [...UNTIMED_E2E, ...ON_REQUEST],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
