// Real DHT nodes against a hostile or silent peer on real links: the hand-over to a joiner is sent
// once per joiner and with a bounded number of STOREs in flight (a peer flapping between two claimed
// ports used to queue itself again per message); our own limits and shutdown are not counted as
// contacts' failures; a NODES-style bogus address for a known id neither evicts that node nor makes
// a request to its real address wait for (and fail with) the doomed dial.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DhtConfig } from '../../relay/dht/config.ts';
import { DhtNode } from '../../relay/dht/node.ts';
import { DHT_PROTOCOL } from '../../relay/dht/peers.ts';
import { DhtType, decodeDht, encodeDht, StoreStatus } from '../../relay/dht/protocol.ts';
import type { Contact } from '../../relay/dht/routing.ts';
import { type Hostkey, loadHostkey } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import { connectLink, type Link, listenLinks, type LinkListener } from '../../relay/p2p/index.ts';
import { parseAddress } from '../../shared/address.ts';
import { getKeys } from '../keypool.ts';

const log = createLogger('dht-storm', 'silent');
const LOOPBACK = '127.0.0.1';
const BIG_LIMITS = { msgsPerSec: 100_000, msgBurst: 100_000 };
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});

async function keys(n: number): Promise<Hostkey[]> {
  const paths = (await getKeys(32)).slice(20, 20 + n);
  return Promise.all(paths.map((p) => loadHostkey(p)));
}

async function startNode(hostkey: Hostkey, o: Partial<DhtConfig> = {}): Promise<DhtNode> {
  const cfg: DhtConfig = {
    apiAddress: { host: LOOPBACK, port: 0 },
    p2pAddress: { host: LOOPBACK, port: 0 },
    p2pAdvertise: { host: LOOPBACK, port: 0 },
    dialPrivateAddresses: true,
    bootstrappers: [],
    k: 20,
    alpha: 3,
    disjointPaths: 3,
    maxReplication: 40,
    maxTtl: 86_400,
    storeDir: mkdtempSync(join(tmpdir(), 'dht-storm-')),
    powBits: 4,
    requestTimeoutMs: 2000,
    dialTimeoutMs: 2000,
    getTimeoutMs: 5000,
    quotaBytes: 1024 * 1024,
    maxStoreBytes: 64 * 1024 * 1024,
    maxEntries: 100_000,
    ipQuotaBytes: 2 * 1024 * 1024,
    subnetQuotaBytes: 4 * 1024 * 1024,
    maxContactsPerIp: 2,
    maxContactsPerSubnet: 8,
    handshakeTimeoutMs: 3000,
    republishSeconds: 3600,
    refreshSeconds: 600,
    maxLinks: 128,
    maxLookups: 64,
    misbehave: 'none',
    colluders: new Set(),
    statusSeconds: 0,
    ...o,
  };
  const node = new DhtNode(cfg, hostkey, log);
  await node.start();
  cleanup.push(() => node.stop());
  return node;
}

const contactOf = (node: DhtNode): Contact => ({
  id: node.id,
  host: LOOPBACK,
  port: parseAddress(node.pool.address).port,
});

/** Resolves once `cond` holds, checked after every call of the returned `check`; rejects after ms. */
function waitFor(cond: () => boolean, ms: number, what: string) {
  let done: () => void = () => {};
  const p = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    done = () => {
      clearTimeout(t);
      resolve();
    };
  });
  const check = () => {
    if (cond()) done();
  };
  return { p, check };
}

function ping(link: Link, rid: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no PONG')), 5000);
    const off = link.onMessage((type, body) => {
      if (type !== DhtType.PONG || decodeDht(type, body).rid !== rid) return;
      clearTimeout(t);
      off();
      resolve();
    });
    link.send(DhtType.PING, encodeDht({ type: DhtType.PING, rid }));
  });
}

describe('DHT under a request storm', () => {
  it('hands over once per joiner, with few STOREs in flight, however often it flaps its port', async () => {
    const [ka, km] = await keys(2);
    const a = await startNode(ka!);
    const VALUES = 100;
    for (let i = 0; i < VALUES; i++) {
      a.store.put({
        key: new Uint8Array(randomBytes(32)),
        value: Uint8Array.of(i),
        expiresAt: Date.now() + 600_000,
        from: '',
        replication: 20,
        published: false,
        lastPushed: Date.now(),
      });
    }
    // The attacker: two links to A claiming different listen ports, a PING on each in turn.
    const stores = new Map<string, number>();
    let inFlight = 0;
    let maxInFlight = 0;
    const all = waitFor(() => stores.size === VALUES, 10_000, 'every value handed over');
    const serve = (link: Link) =>
      link.onMessage((type, body) => {
        if (type !== DhtType.STORE) return;
        const m = decodeDht(type, body);
        if (m.type !== DhtType.STORE) return;
        const k = Buffer.from(m.key).toString('hex');
        stores.set(k, (stores.get(k) ?? 0) + 1);
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        setImmediate(() => {
          inFlight--;
          link.send(
            DhtType.STORED,
            encodeDht({ type: DhtType.STORED, rid: m.rid, status: StoreStatus.STORED }),
          );
        });
        all.check();
      });
    const dial = (listenPort: number) =>
      connectLink({
        address: parseAddress(a.pool.address),
        hostkey: km!,
        protocol: DHT_PROTOCOL,
        powBits: 4,
        log,
        listenPort,
        limits: BIG_LIMITS,
      });
    const links = [await dial(1111), await dial(2222)];
    cleanup.push(() => {
      for (const l of links) l.close('done');
    });
    for (const l of links) serve(l);
    // Each PING waits for its PONG, so A sees the claimed port flip 20 times (within the 50 ms
    // before the hand-over starts).
    for (let i = 0; i < 20; i++) await ping(links[i % 2]!, 1000 + i);
    await all.p;
    // Old code: ~20 queued copies of the attacker, each value STOREd ~20 times, all at once.
    expect(Math.max(...stores.values())).toBe(1);
    expect(maxInFlight).toBeLessThanOrEqual(8);
  });

  it('our own cap on requests in flight and our shutdown are not failures of the contacts', async () => {
    const [ka, kh, ks] = await keys(3);
    const a = await startNode(ka!, { requestTimeoutMs: 60_000 });
    const h = await startNode(kh!);
    // S: a silent peer that takes requests and never answers.
    let pings = 0;
    const filled = waitFor(() => pings === 4096, 10_000, '4096 PINGs pending at S');
    const s: LinkListener = await listenLinks({
      address: { host: LOOPBACK, port: 0 },
      hostkey: ks!,
      protocol: DHT_PROTOCOL,
      powBits: 4,
      log,
      limits: BIG_LIMITS,
      onLink: (link) =>
        link.onMessage((type) => {
          if (type === DhtType.PING) pings++;
          filled.check();
        }),
    });
    cleanup.push(() => s.close());
    const sc = await a.pool.dialAddress({ host: LOOPBACK, port: s.port });
    a.routing.seen(sc);
    a.routing.seen(await a.pool.dialAddress(parseAddress(h.pool.address)));
    expect(a.routing.has(h.id)).toBe(true);

    const toS = Array.from({ length: 4096 }, () => a.ping(sc)); // fills the pool's cap (4096)
    await filled.p;
    // Both pass the do-not-retry check before either fails, as concurrent requests do.
    expect(await Promise.all([a.ping(contactOf(h)), a.ping(contactOf(h))])).toEqual([false, false]);
    expect(a.routing.has(h.id)).toBe(true); // old code: two "failures" evicted h
    await a.stop(); // rejects the 4096 pending PINGs
    expect((await Promise.all(toS)).every((ok) => !ok)).toBe(true);
    expect(a.routing.has(sc.id)).toBe(true); // old code: 4096 "failures" evicted S
  });

  it('a bogus address for a known id neither evicts it nor stalls requests to its real address', async () => {
    const [ka, kh] = await keys(2);
    const a = await startNode(ka!, { dialTimeoutMs: 1000 });
    const h = await startNode(kh!);
    const real = contactOf(h);
    a.routing.seen(real); // known, no link open yet
    // A black hole: accepts TCP, never says HELLO (the dial there stalls until dial_timeout).
    const held: Socket[] = [];
    const hole = createServer((sock) => held.push(sock));
    await new Promise<void>((r) => hole.listen(0, LOOPBACK, r));
    cleanup.push(() => {
      for (const sock of held) sock.destroy();
      return new Promise<void>((r) => hole.close(() => r()));
    });
    const holePort = (hole.address() as { port: number }).port;

    const bogus = a.ping({ id: h.id, host: LOOPBACK, port: holePort }); // as listed by a liar's NODES
    expect(await a.ping(real)).toBe(true); // old code: joined the doomed dial and failed with it
    expect(await bogus).toBe(false);
    expect(a.routing.has(h.id)).toBe(true); // old code: evicted after two failures
    expect(a.routing.get(h.id)?.port).toBe(real.port);
    expect(await a.ping(real)).toBe(true); // old code: "contact failed recently"
  });

  it('a failed dial with several requests waiting on it counts once against the contact', async () => {
    const [ka] = await keys(1);
    const a = await startNode(ka!);
    // A port nobody listens on: the one shared dial is refused.
    const gone = createServer();
    await new Promise<void>((r) => gone.listen(0, LOOPBACK, r));
    const port = (gone.address() as { port: number }).port;
    await new Promise<void>((r) => gone.close(() => r()));
    const dead: Contact = { id: new Uint8Array(randomBytes(32)), host: LOOPBACK, port };
    a.routing.seen(dead);
    // Three requests at once (e.g. three lookups) wait on one dial; max_fails is 2.
    expect(await Promise.all([a.ping(dead), a.ping(dead), a.ping(dead)])).toEqual([false, false, false]);
    expect(a.routing.has(dead.id)).toBe(true); // old code: 3 failures counted, evicted
  });
});

describe('DHT addresses from NODES replies', () => {
  it('a node on a public address does not take private addresses from NODES replies', async () => {
    const [ka, kb, kc] = await keys(3);
    const c = await startNode(kc!);
    const b = await startNode(kb!);
    expect(await b.ping(contactOf(c))).toBe(true); // b knows c, at 127.0.0.1
    for (const dialPrivateAddresses of [false, true]) {
      const a = await startNode(ka!, { dialPrivateAddresses });
      expect(await a.ping(contactOf(b))).toBe(true); // a's own contact: always used
      const found = await a.findNodes(c.id, 20);
      const learnt = found.closest.some((x) => Buffer.from(x.id).equals(Buffer.from(c.id)));
      expect(learnt, `dial_private_addresses = ${dialPrivateAddresses}`).toBe(dialPrivateAddresses);
      expect(a.routing.has(c.id)).toBe(dialPrivateAddresses);
      await a.stop();
    }
  });
});
