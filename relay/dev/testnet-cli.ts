// voidphone-testnet: start N local relays and print one JSON line when all are up.
import { parseArgs } from 'node:util';
import { createLogger } from '../log.ts';
import { startHostsTestnet } from './testnet-hosts.ts';
import { parseWan } from './wan.ts';
import { startTestnet, type Testnet } from './testnet.ts';

const HELP = `voidphone-testnet — a local VoidPhone network on 127.0.0.1

Usage:
  voidphone-testnet --relays N [--dir DIR] [--keys KEYDIR] [--set section.key=value ...]
                    [--in-process] [--only gossip,rps,...]

  --relays N        how many relays (default 6)
  --dir DIR         where relay-<i>.ini files and stores go, kept after stop
                    (default: a new temp folder, removed at stop)
  --keys KEYDIR     hostkey pool reused across runs; missing keys are generated (default .keys/pool)
  --set S.K=V       override option K of section S in every relay's config (repeatable)
  --in-process      run all relays in this process (default: one process per relay)
  --only LIST       start only these modules

Hosts on one machine (root; Linux network namespaces, addresses from 198.18.0.0/15; docs/testnet-hosts.md):
  voidphone-testnet --hosts 3 --relays-per-host 3 [--wan delay=40ms,jitter=5ms,loss=1%,rate=10mbit]
  --hosts H              H namespaces joined by a router, one address each
  --relays-per-host N    relays per host (default 3), each its own process in its host
  --wan SPEC             conditions between hosts: delay (added RTT), jitter, loss, rate, rto
  --wan-mode MODE        auto (default: netem if the kernel has it), netem, userspace

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
      hosts: { type: 'string' },
      'relays-per-host': { type: 'string', default: '3' },
      wan: { type: 'string' },
      'wan-mode': { type: 'string', default: 'auto' },
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
  const common = { dir: values.dir, keysDir: values.keys, set, only: values.only?.split(','), log };
  let net: Testnet;
  let hostOf = (_i: number): string | undefined => undefined;
  if (values.hosts !== undefined) {
    const mode = values['wan-mode'];
    if (mode !== 'auto' && mode !== 'netem' && mode !== 'userspace')
      throw new Error('--wan-mode: auto, netem or userspace');
    const h = await startHostsTestnet({
      ...common,
      hosts: whole('--hosts', values.hosts, 250),
      relaysPerHost: whole('--relays-per-host', values['relays-per-host'], 100),
      wan: values.wan ? parseWan(values.wan) : undefined,
      wanMode: mode,
    });
    hostOf = (i) => h.hosts.hosts[h.hostOf(i)]!.ns;
    net = h;
  } else {
    net = await startTestnet({
      ...common,
      relays: n,
      mode: values['in-process'] ? 'in-process' : 'processes',
    });
  }
  const relays = net.relays.map((r) => ({
    config: r.config,
    identity: r.identity,
    api: r.api,
    p2p: r.p2p,
    netns: hostOf(r.index),
  }));
  process.stdout.write(`${JSON.stringify({ ready: true, dir: net.dir, relays })}\n`);
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${sig}: stopping ${net.relays.length} relays`);
    await net.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

function whole(flag: string, v: string, max: number): number {
  const x = Number(v);
  if (!Number.isInteger(x) || x < 1 || x > max) throw new Error(`${flag} must be a whole number 1..${max}`);
  return x;
}

main().catch((e: unknown) => {
  process.stderr.write(`voidphone-testnet: ${(e as Error).message}\n`);
  process.exit(2);
});
