// voidphone-testnet: start N local relays and print one JSON line when all are up.
import { parseArgs } from 'node:util';
import { createLogger } from './log.ts';
import { startTestnet } from './testnet.ts';

const HELP = `voidphone-testnet — a local VoidPhone network on 127.0.0.1

Usage:
  voidphone-testnet --relays N [--dir DIR] [--keys KEYDIR] [--set section.key=value ...]
                    [--in-process] [--only gossip,rps,...]

  --relays N        how many relays (default 6)
  --dir DIR         where relay-<i>.ini files go (default: a new temp folder)
  --keys KEYDIR     hostkey pool reused across runs; missing keys are generated (default .keys/pool)
  --set S.K=V       override option K of section S in every relay's config (repeatable)
  --in-process      run all relays in this process (default: one process per relay)
  --only LIST       start only these modules

Prints {"ready":true,"relays":[...]} on stdout when every relay listens; SIGINT/SIGTERM stops all.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      relays: { type: 'string', default: '6' },
      dir: { type: 'string' },
      keys: { type: 'string' },
      set: { type: 'string', multiple: true },
      'in-process': { type: 'boolean' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const n = Number(values.relays);
  if (!Number.isInteger(n) || n < 1 || n > 500) throw new Error('--relays must be a whole number 1..500');
  const set: Record<string, string> = {};
  for (const item of values.set ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0 || !item.slice(0, eq).includes('.'))
      throw new Error(`--set ${item}: expected section.key=value`);
    set[item.slice(0, eq)] = item.slice(eq + 1);
  }
  const log = createLogger('testnet');
  const net = await startTestnet({
    relays: n,
    dir: values.dir,
    keysDir: values.keys,
    set,
    mode: values['in-process'] ? 'in-process' : 'processes',
    only: values.only?.split(','),
    log,
  });
  const relays = net.relays.map((r) => ({ config: r.config, identity: r.identity, api: r.api, p2p: r.p2p }));
  process.stdout.write(`${JSON.stringify({ ready: true, dir: net.dir, relays })}\n`);
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${sig}: stopping ${n} relays`);
    await net.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e: unknown) => {
  process.stderr.write(`voidphone-testnet: ${(e as Error).message}\n`);
  process.exit(2);
});
