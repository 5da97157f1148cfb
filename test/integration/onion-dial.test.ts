// Dialling links: a dial in progress is shared only for the same address, dials count as links, and a
// relay on a public address does not EXTEND into private networks.
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Hostkey, loadHostkey } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import { LinkManager, type PeerAddress } from '../../relay/onion/links.ts';
import { OnionKeys } from '../../relay/onion/onionkey.ts';
import { MessageType } from '../../shared/wire/types.ts';
import { getKeys } from '../keypool.ts';
import { startOnionNet } from './onion-support.ts';

let hk: Hostkey[] = [];
const stop: (() => unknown)[] = [];
beforeAll(async () => {
  hk = await Promise.all((await getKeys(2)).map(loadHostkey));
});
afterAll(async () => {
  for (const s of stop.reverse()) await s();
});

function manager(key: Hostkey, maxLinks = 8): LinkManager {
  const keys = new OnionKeys(key, 3_600_000);
  const m = new LinkManager({
    identity: key.identity,
    der: key.spkiDer,
    keys,
    log: createLogger('t', 'silent'),
    handshakeTimeoutMs: 3000,
    maxQueuedBytes: 1 << 20,
    circuitQueueCells: 100,
    partialCellTimeoutMs: 1000,
    maxLinks,
    idleLinkMs: 60_000,
    circuitsOn: () => 1,
    onLink: () => {},
    onLinkClosed: () => {},
  });
  stop.push(
    () => m.close(),
    () => keys.stop(),
  );
  return m;
}

/** A TCP server that accepts and never answers (a handshake to it hangs until the timeout). */
async function staller(): Promise<number> {
  const socks = new Set<Socket>();
  const s = createServer((c) => socks.add(c));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  stop.push(() => {
    for (const c of socks) c.destroy();
    s.close();
  });
  return (s.address() as { port: number }).port;
}

const at = (port: number): PeerAddress => ({
  host: '127.0.0.1',
  port,
  identity: hk[0]!.identity,
  idHex: Buffer.from(hk[0]!.identity).toString('hex'),
});

it('does not hand a dial to a stalling address to someone asking for the same relay elsewhere', async () => {
  const relayPort = await manager(hk[0]!).listen('127.0.0.1', 0);
  const stallPort = await staller();
  const dialer = manager(hk[1]!);
  const stalled = dialer.get(at(stallPort));
  stalled.catch(() => {});
  const t = performance.now();
  const link = await dialer.get(at(relayPort));
  expect(link.peerIdentity).toBe(at(relayPort).idHex);
  expect(performance.now() - t).toBeLessThan(2500); // not the stalled dial's 3 s handshake timeout
  await expect(stalled).rejects.toThrow();
});

it('counts dials in progress against max_links', async () => {
  const relayPort = await manager(hk[0]!).listen('127.0.0.1', 0);
  const dialer = manager(hk[1]!, 1);
  const first = dialer.get(at(await staller()));
  first.catch(() => {});
  await expect(dialer.get(at(relayPort))).rejects.toThrow(/too many links/);
});

it('a relay told not to extend to private addresses refuses EXTEND to 127.0.0.1 (the build fails)', async () => {
  const on = await startOnionNet(4, {
    'onion.extend_private_addresses': 'false',
    'onion.build_timeout_ms': '1500',
    'onion.cover_tunnel': 'false',
  });
  stop.push(() => on.stop());
  const a = await on.client(0);
  const err = await a.request(on.buildTo(3), MessageType.ONION_ERROR, 10_000);
  expect(err.requestType).toBe(560);
  expect(on.debug(0).stats.circuitsBuilt).toBe(0);
});
