// npm run soak [-- --minutes 60 --relays 10 --round 10 --churn 0.3 --churn-every 120 --down 20
//                  --caller-log debug]
// Runs test/soak/soak.ts and prints its figures; exits 1 if a relay crashed, the call did not
// carry on within a round after a churn event, or memory grew more than 10 % after the reference
// minute. Not part of npm test (a 3-minute version is: test/integration/soak-short.test.ts).
import { report } from './report.ts';
import { runSoak, type SoakOptions } from './soak.ts';

const USAGE = `usage: npm run soak -- [--minutes N] [--relays N] [--round SECONDS] [--churn SHARE]
                        [--churn-every SECONDS] [--down SECONDS] [--sample-ms MS]
  --minutes      how long the call and the abuse run (default 60)
  --relays       relays in the testnet, at least 8 (default 10)
  --round        onion round length in seconds (default 10)
  --churn        share of all relays killed at each churn event (default 0.3)
  --churn-every  seconds between churn events (default 120)
  --down         seconds a killed relay stays down (default 20)
  --sample-ms    how often each relay records its memory, fds and loop lag (default 10000)
  --caller-log   log level of the caller's relay, to stderr (e.g. debug: why its builds failed)`;

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`--${name} needs a positive number\n${USAGE}`);
    process.exit(2);
  }
  return v;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const o: SoakOptions = {
    minutes: option(args, 'minutes', 60),
    relays: option(args, 'relays', 10),
    roundSeconds: option(args, 'round', 10),
    churn: option(args, 'churn', 0.3),
    churnEverySeconds: option(args, 'churn-every', 120),
    downSeconds: option(args, 'down', 20),
    sampleMs: option(args, 'sample-ms', 10_000),
    callerLog: args.includes('--caller-log') ? args[args.indexOf('--caller-log') + 1] : undefined,
    progress: (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
  };
  const r = await runSoak(o);
  const { ok, lines } = report(r);
  for (const l of lines) console.log(l);
  process.exit(ok ? 0 : 1);
}

await main();
