// Issue 19, gossip: a real gossip module with raw links standing in for its neighbours and a real
// API subscriber. One neighbour's pushes are bounded (push_rate), items nobody answers count
// against their sender, one neighbour cannot fill the validation queue, and a neighbour the eager
// push skipped still gets the item through IHAVE/IWANT.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../relay/api/client.ts';
import { parseConfigText } from '../../relay/config.ts';
import { create, type GossipModule } from '../../relay/gossip/index.ts';
import { waitFor } from '../../relay/dev/gossip-net.ts';
import { PROTOCOL } from '../../relay/gossip/membership.ts';
import {
  decodeIHave,
  decodePush,
  encodeIWant,
  encodePeers,
  encodePush,
  GossipType,
} from '../../relay/gossip/protocol.ts';
import { type Hostkey, loadHostkey } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import { connectLink, type Link } from '../../relay/p2p/index.ts';
import { getKeys } from '../keypool.ts';

const log = createLogger('gossip-hostile-test', 'silent');
const POW = 8;
const T = 7301;
let pems: string[] = [];
let keys: Hostkey[] = [];
const cleanup: (() => unknown)[] = [];
const text = (d: Uint8Array) => new TextDecoder().decode(d);
const bytes = (s: string) => new TextEncoder().encode(s);

beforeAll(async () => {
  pems = await getKeys(4);
  keys = await Promise.all(pems.map(loadHostkey));
});
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function relay(extra: string[] = []): Promise<GossipModule> {
  const ini = [
    `hostkey = ${pems[0]}`,
    '[gossip]',
    'api_address = 127.0.0.1:0',
    'p2p_address = 127.0.0.1:0',
    `pow_bits = ${POW}`,
    'degree = 1',
    'pull_interval_ms = 3600000',
    ...extra,
  ].join('\n');
  const m = (await create({
    config: parseConfigText('/gossip-hostile/relay.ini', ini),
    hostkey: keys[0]!,
    log,
  })) as GossipModule;
  cleanup.push(() => m.stop());
  return m;
}

/** A subscriber to T that answers V=1 to data for which `answer` says so, and ignores the rest. */
async function subscriber(m: GossipModule, answer: (data: string) => boolean) {
  const c = await ApiClient.connect(m.listening.api!, { timeoutMs: 5000 });
  cleanup.push(() => c.close());
  const heard: string[] = [];
  c.onMessage((msg) => {
    if (msg.type !== 502) return;
    const d = text(msg.data);
    heard.push(d);
    if (answer(d)) c.send({ type: 503, messageId: msg.messageId, valid: true });
  });
  c.send({ type: 501, dataType: T });
  await waitFor(() => m.subs.has(T), 3000, 'subscribed');
  return { c, heard };
}

/** A raw neighbour (hostkey k): answers PEERS_REQUEST, records the PUSHes and IHAVEs it gets. */
async function neighbour(m: GossipModule, k: number) {
  const port = Number(m.membership.address.split(':').pop());
  const link: Link = await connectLink({
    address: { host: '127.0.0.1', port },
    hostkey: keys[k]!,
    protocol: PROTOCOL,
    powBits: POW,
    log,
  });
  cleanup.push(() => link.close('test over'));
  const pushes: string[] = [];
  const ihaves: Uint8Array[][] = [];
  let closedWith = '';
  link.onClose((r) => {
    closedWith = r;
  });
  link.onMessage((type, body) => {
    if (type === GossipType.PEERS_REQUEST) link.send(GossipType.PEERS, encodePeers([]));
    if (type === GossipType.PUSH) pushes.push(text(decodePush(body).data));
    if (type === GossipType.IHAVE) ihaves.push(decodeIHave(body).map((o) => o.id));
  });
  const me = Buffer.from(keys[k]!.identity).toString('hex');
  await waitFor(() => m.membership.neighbours.has(me), 3000, 'neighbour added');
  const push = (data: string) =>
    link.send(GossipType.PUSH, encodePush({ ttl: 0, pulled: false, dataType: T, data: bytes(data) }));
  return { link, pushes, ihaves, push, closed: () => closedWith };
}

describe('gossip: hostile neighbours', () => {
  it("one neighbour's pushes are bounded by push_rate, not only by the link rate", async () => {
    const m = await relay(['push_rate = 10']);
    const sub = await subscriber(m, () => true);
    const n = await neighbour(m, 1);
    for (let i = 0; i < 200; i++) n.push(`flood ${i}`);
    n.push('last');
    // Frames are handled in order; once the relay answers a later PEERS_REQUEST all were seen.
    await new Promise((r) => setTimeout(r, 500));
    // Burst 2 x push_rate, plus the refill during the test.
    expect(sub.heard.length).toBeGreaterThan(0);
    expect(sub.heard.length).toBeLessThanOrEqual(40);
    expect(n.link.closed).toBe(false);
  });

  it('items that no local subscriber answers count towards the sender’s rejection limit', async () => {
    const m = await relay(['validation_timeout_ms = 100']);
    // The subscriber is alive (answers "ok" items) but ignores junk.
    const sub = await subscriber(m, (d) => d.startsWith('ok'));
    const n = await neighbour(m, 1);
    n.push('ok 0');
    await waitFor(() => sub.heard.includes('ok 0'), 3000, 'ok 0 heard');
    for (let i = 0; i < 40; i++) n.push(`junk ${i}`);
    await waitFor(() => n.link.closed, 5000, 'junk sender dropped');
    expect(n.closed()).toMatch(/left unanswered or rejected/);
  });

  it('a subscriber that answers nothing at all blames no neighbour', async () => {
    const m = await relay(['validation_timeout_ms = 100']);
    const sub = await subscriber(m, () => false);
    const n = await neighbour(m, 1);
    for (let i = 0; i < 40; i++) n.push(`quiet ${i}`);
    await waitFor(() => sub.heard.length === 40, 3000, 'all heard');
    await new Promise((r) => setTimeout(r, 400));
    expect(n.link.closed).toBe(false);
  });

  it('one neighbour cannot fill the validation queue: another still gets its item validated', async () => {
    // cache_size 50: a queue of 256. The subscriber sits on the flood (never answers it).
    const m = await relay(['push_rate = 100000', 'validation_timeout_ms = 60000']);
    const sub = await subscriber(m, (d) => d === 'honest');
    const a = await neighbour(m, 1);
    const b = await neighbour(m, 2);
    for (let i = 0; i < 400; i++) a.push(`flood ${i}`);
    await waitFor(() => m.spreader.validating >= 100, 3000, 'flood queued');
    await new Promise((r) => setTimeout(r, 200));
    b.push('honest');
    await waitFor(
      () => sub.heard.includes('honest'),
      3000,
      "the honest neighbour's item reached the subscriber",
    );
    expect(m.spreader.validating).toBeLessThan(256);
  });

  it('a neighbour the eager push skipped gets an IHAVE, and the item when it answers IWANT', async () => {
    // degree 1: the item is pushed to one of the two neighbours, offered to the other.
    const m = await relay();
    const sub = await subscriber(m, () => true);
    const a = await neighbour(m, 1);
    const b = await neighbour(m, 2);
    sub.c.send({ type: 500, ttl: 0, dataType: T, data: bytes('news') });
    await waitFor(() => a.pushes.length + b.pushes.length === 1, 3000, 'eager push');
    const skipped = a.pushes.length === 0 ? a : b;
    await waitFor(() => skipped.ihaves.length > 0, 3000, 'IHAVE to the skipped neighbour');
    skipped.link.send(GossipType.IWANT, encodeIWant(skipped.ihaves[0]!));
    await waitFor(() => skipped.pushes.includes('news'), 3000, 'item sent on IWANT');
    // Asked again: nothing more (each offer is answered once).
    skipped.link.send(GossipType.IWANT, encodeIWant(skipped.ihaves[0]!));
    await new Promise((r) => setTimeout(r, 200));
    expect(skipped.pushes).toEqual(['news']);
  });
});
