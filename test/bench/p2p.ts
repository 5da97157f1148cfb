// npm run bench -- p2p [--rounds=40] [--burst=16] [--pow=16]
// Link handshake time (TCP connect, HELLO with PoW check, RSA-4096 AUTH both ways) on loopback:
// sequential handshakes, then bursts of --burst at once (a loaded relay), to size the handshake
// deadline (handshakeTimeoutMs, default 3 s). Prints p50/p99/max and the load average.
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { loadHostkey } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import { connectLink, listenLinks } from '../../relay/p2p/index.ts';
import { getKeys } from '../keypool.ts';

function flag(args: string[], name: string, fallback: string): string {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : fallback;
}
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const fmt = (xs: number[]) =>
  `p50 ${pct(xs, 0.5).toFixed(1)} ms, p99 ${pct(xs, 0.99).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (n=${xs.length})`;

export async function run(args: string[]): Promise<void> {
  const rounds = Number(flag(args, 'rounds', '40'));
  const burst = Number(flag(args, 'burst', '16'));
  const powBits = Number(flag(args, 'pow', '16'));
  const [a, b] = await getKeys(2);
  const [ka, kb] = [await loadHostkey(a!), await loadHostkey(b!)];
  const log = createLogger('bench-p2p', 'error');
  const listener = await listenLinks({
    address: { host: '127.0.0.1', port: 0 },
    hostkey: ka,
    protocol: 'bench',
    powBits,
    log,
    maxConnections: 4 * burst,
    onLink: (l) => l.close('bench'),
  });
  const one = async () => {
    const t0 = performance.now();
    const l = await connectLink({
      address: { host: '127.0.0.1', port: listener.port },
      hostkey: kb,
      protocol: 'bench',
      powBits,
      log,
    });
    const ms = performance.now() - t0;
    l.close('bench');
    return ms;
  };
  await one(); // PoW nonce found once per process (not part of a handshake)
  const seq: number[] = [];
  for (let i = 0; i < rounds; i++) seq.push(await one());
  const bursts: number[] = [];
  for (let i = 0; i < Math.max(1, Math.floor(rounds / burst)); i++)
    bursts.push(...(await Promise.all(Array.from({ length: burst }, one))));
  await listener.close();
  console.log(
    `load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} (${(await import('node:os')).cpus().length} cores)`,
  );
  console.log(`handshake, one at a time:   ${fmt(seq)}`);
  console.log(`handshake, ${burst} at once:      ${fmt(bursts)}`);
}
