// A 30-relay gossip network in this process on loopback: spread, validation, unsubscribed types,
// and hostile peers. Each relay has one API subscriber that answers every notification.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../relay/api/client.ts';
import { loadHostkey } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import { type GossipNet, startGossipNet, waitFor } from '../../relay/dev/gossip-net.ts';
import { PROTOCOL } from '../../relay/gossip/membership.ts';
import { encodePush, GossipType } from '../../relay/gossip/protocol.ts';
import { connectLink } from '../../relay/p2p/index.ts';
import { getKeys } from '../keypool.ts';

const N = 30;
const T = 7001; // validated V=1 unless the data starts with "bad"
const U = 7002; // subscribed only where a test says so
const SET = {
  pow_bits: '8',
  degree: '6',
  maintain_interval_ms: '200',
  pull_interval_ms: '1000',
  pex_interval_ms: '1000',
  dial_backoff_ms: '200',
};

let net: GossipNet;
let keys: string[];
const subs: ApiClient[] = [];
/** Per relay: how many notifications of each data (as text) it got. */
const heard: Map<string, number>[] = [];

const text = (d: Uint8Array) => new TextDecoder().decode(d);
const reached = (data: string) => heard.filter((h) => h.has(data)).length;

async function subscribe(i: number, dataType: number): Promise<void> {
  subs[i]!.send({ type: 501, dataType });
  await waitFor(() => net.nodes[i]!.module!.subs.has(dataType), 3000, `relay ${i} subscribed to ${dataType}`);
}

beforeAll(async () => {
  keys = await getKeys(N + 1);
  net = await startGossipNet({ keys: keys.slice(0, N), set: SET });
  for (let i = 0; i < N; i++) {
    const c = await ApiClient.connect(net.nodes[i]!.api, { timeoutMs: 5000 });
    const h = new Map<string, number>();
    c.onMessage((m) => {
      if (m.type !== 502) return;
      const d = text(m.data);
      h.set(d, (h.get(d) ?? 0) + 1);
      c.send({ type: 503, messageId: m.messageId, valid: !d.startsWith('bad') });
    });
    subs.push(c);
    heard.push(h);
  }
  await Promise.all(subs.map((_, i) => subscribe(i, T)));
  await waitFor(
    () => net.nodes.every((n) => n.module!.membership.neighbours.size >= 3),
    30_000,
    'every relay has 3 neighbours',
  );
});

afterAll(async () => {
  for (const c of subs) c.close();
  await net?.stop();
});

let seq = 0;
function announce(at: number, data: string, dataType = T, ttl = 0): void {
  subs[at]!.send({ type: 500, ttl, dataType, data: new TextEncoder().encode(data) });
}
/** Announce a fresh V=1 item and wait until every relay but the announcer has it. */
async function marker(at: number, timeoutMs = 5000): Promise<void> {
  const m = `marker ${++seq}`;
  announce(at, m);
  await waitFor(() => reached(m) === N - 1, timeoutMs, `${m} reached everyone`);
}

describe('gossip over 30 relays', () => {
  it('an announced item reaches every other relay exactly once within 2 s', async () => {
    const data = 'hello network';
    const started = Date.now();
    announce(7, data);
    await waitFor(() => reached(data) >= Math.ceil(0.99 * (N - 1)), 2000, 'item at >= 99% of relays');
    const ms = Date.now() - started;
    await marker(7); // later item delivered everywhere: any duplicate of the first would be in by now
    expect(heard[7]!.has(data)).toBe(false); // not echoed to the announcing connection
    expect(heard.filter((h, i) => i !== 7 && h.get(data) !== 1)).toHaveLength(0);
    console.log(`30 relays: full coverage in ${ms} ms`);
  });

  it('an item marked invalid at the first relays is seen by no relay beyond them', async () => {
    const at = 11;
    const neighbours = new Set(net.nodes[at]!.module!.membership.neighbours.keys());
    const ids = net.nodes.map((n) => n.module!.membership.ownId);
    announce(at, 'bad item');
    await marker(at);
    await marker((at + 1) % N);
    const saw = heard.map((h, i) => (h.has('bad item') ? i : -1)).filter((i) => i >= 0);
    expect(saw.length).toBeGreaterThan(0);
    for (const i of saw) expect(neighbours.has(ids[i]!)).toBe(true);
  });

  it('does not forward a type nobody at a relay subscribed to', async () => {
    const at = 3;
    const near = new Set(net.nodes[at]!.module!.membership.neighbours.keys());
    const far = net.nodes.filter((n, i) => i !== at && !near.has(n.module!.membership.ownId));
    await Promise.all(far.map((n) => subscribe(n.index, U)));
    announce(at, 'unwanted', U);
    await marker(at);
    await marker(far[0]!.index);
    expect(reached('unwanted')).toBe(0);
  });

  it('drops a peer that sends garbage or floods, and the others keep working', async () => {
    const attacker = await loadHostkey(keys[N]!);
    const log = createLogger('attacker', 'silent');
    const dial = () =>
      connectLink({
        address: { host: '127.0.0.1', port: Number(net.nodes[0]!.p2p.split(':')[1]) },
        hostkey: attacker,
        protocol: PROTOCOL,
        powBits: 8,
        log,
      });
    const garbage = await dial();
    const gClosed = new Promise<string>((r) => garbage.onClose(r));
    garbage.send(GossipType.PUSH, new Uint8Array([1])); // shorter than a PUSH header
    expect(await gClosed).toMatch(/PUSH of 1 bytes/);

    const flood = await dial();
    const fClosed = new Promise<string>((r) => flood.onClose(r));
    for (let i = 0; i < 3000 && !flood.closed; i++) {
      flood.send(
        GossipType.PUSH,
        encodePush({ ttl: 0, pulled: false, dataType: 9999, data: new Uint8Array(8) }),
      );
    }
    expect(await fClosed).toMatch(/rate limit/);

    const unsolicited = await dial();
    const uClosed = new Promise<string>((r) => unsolicited.onClose(r));
    // The relay asks every new neighbour for peers once: the first PEERS answers that, not the second.
    unsolicited.send(GossipType.PEERS, new Uint8Array([0]));
    unsolicited.send(GossipType.PEERS, new Uint8Array([0]));
    expect(await uClosed).toMatch(/unsolicited PEERS/);

    await marker(0);
    await marker(20);
  });
});
