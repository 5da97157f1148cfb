// `npm run bench -- nse [--rounds=50] [--trials=2] [--keys=1,4,8] [--sizes=1000,10000,100000]`:
// the socket-free NSE simulation. Prints, per N and keys per round, the error distribution of the
// estimate (median and 90th percentile of |estimate/N - 1| over the rounds after the history filled,
// pooled over trials) and the bandwidth per peer: claims flooded per round, each of which every peer
// receives and forwards once (wire messages: about that times the Gossip degree). keys = 1 is plain
// GNUnet NSE.
import { quantile, simulate } from '../../relay/dev/nse-sim.ts';

/** `--name=value` (what the bench runner passes on) or `--name value`. */
function option(args: string[], name: string, fallback: string): string {
  const eq = args.find((a) => a.startsWith(`--${name}=`));
  if (eq) return eq.slice(name.length + 3);
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

export async function run(args: string[]): Promise<void> {
  const rounds = Number(option(args, 'rounds', '50'));
  const trials = Number(option(args, 'trials', '2'));
  const history = Number(option(args, 'history', '16'));
  const keysList = option(args, 'keys', '1,4,8').split(',').map(Number);
  const sizes = option(args, 'sizes', '1000,10000,100000').split(',').map(Number);
  console.log(
    `NSE simulation: ${rounds} rounds, history ${history}, ${trials} trials, 30 s rounds, 1 s floods`,
  );
  console.log('       N  keys  median|e/N-1|  p90|e/N-1|  claims/peer/round (mean, p90)  time');
  const started = Date.now();
  for (const n of sizes) {
    for (const keys of keysList) {
      const t = Date.now();
      const errors: number[] = [];
      const floods: number[] = [];
      for (let trial = 0; trial < trials; trial++) {
        const out = simulate({
          n,
          rounds,
          keys,
          history,
          roundMs: 30_000,
          sendWindow: 0.5,
          floodMs: 1000,
          seed: 1 + trial * 7919 + n,
        });
        for (const r of out.slice(history)) {
          errors.push(Math.abs(r.estimate / n - 1));
          floods.push(r.announcements);
        }
      }
      const row = [
        String(n).padStart(8),
        String(keys).padStart(5),
        quantile(errors, 0.5).toFixed(3).padStart(14),
        quantile(errors, 0.9).toFixed(3).padStart(11),
        (floods.reduce((a, x) => a + x, 0) / floods.length).toFixed(2).padStart(22),
        String(quantile(floods, 0.9)).padStart(8),
        `${((Date.now() - t) / 1000).toFixed(1)} s`.padStart(7),
      ];
      console.log(row.join(' '));
    }
  }
  console.log(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

// Allow `npx tsx test/bench/nse.ts` directly as well as through the runner.
if (import.meta.url === `file://${process.argv[1]}`) void run(process.argv.slice(2));
