// Issue 15's two attacker measurements as bench parts of `npm run bench -- onion` (not in the
// default list: each takes a minute or two and means something only on a quiet box):
//   --parts observer  the link observer (onion-link-observer.test.ts, judged as in npm test)
//   --parts curious   one curious hop (onion-curious-hop.test.ts, relays in their own processes)
// Both run their test file under Vitest, which owns the testnet and the statistics, and print the
// lines that carry the figures.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

function vitest(file: string, env: Record<string, string>, keep: RegExp): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${REPO}node_modules/vitest/vitest.mjs`, 'run', file], {
      cwd: REPO,
      env: { ...process.env, ...env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let rest = '';
    const onData = (d: Buffer) => {
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) if (keep.test(l)) console.log(`  ${l.trim()}`);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', () => resolve());
  });
}

/** Per relay and phase against idle rounds: rate, links, builds, KS p-values (and what fails). */
export function observer(): Promise<void> {
  console.log("\nlink observer (issue 15): both parties' relays, idle / start / call / end / idle again");
  return vitest(
    'test/integration/onion-link-observer.test.ts',
    {},
    /relay (start|call|end|idle2)|not judged|Tests /,
  );
}

/** Held-out accuracy of the curious hop's classifiers, cover clock and (for comparison) old echo. */
export function curious(): Promise<void> {
  console.log('\none curious hop (issue 15): classifier accuracy on held-out calls (goal <= 60 %)');
  return vitest(
    'test/integration/onion-curious-hop.test.ts',
    { ONION_CURIOUS: '1', ONION_CURIOUS_DEBUG: '1' },
    /accuracy|feature means|^\s+call |Tests /,
  );
}
