// Conformance of the Gossip API on a real relay (relay/dev/testnet.ts, one relay, gossip only).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../relay/api/client.ts';
import { startTestnet, type Testnet } from '../../relay/dev/testnet.ts';
import type { GossipNotification } from '../../shared/wire/types.ts';

let net: Testnet;
const clients: ApiClient[] = [];
const T = 4242;

beforeAll(async () => {
  net = await startTestnet({ relays: 1, only: ['gossip'], set: { 'gossip.pow_bits': '4' } });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await net?.stop();
});

async function client(): Promise<ApiClient> {
  const c = await ApiClient.connect(net.relays[0]!.api.gossip!, { timeoutMs: 3000 });
  clients.push(c);
  return c;
}

let counter = 0;
/**
 * NOTIFY has no reply, so the first delivery is retried with fresh data until the subscription is
 * in place (two sockets: no ordering between them). Returns the notification the subscriber got.
 */
async function announceUntilSeen(by: ApiClient, sub: ApiClient, dataType = T): Promise<GossipNotification> {
  for (let i = 0; i < 20; i++) {
    const data = new TextEncoder().encode(`item ${++counter}`);
    const got = sub.next(502, { timeoutMs: 250, filter: (m) => Buffer.from(m.data).equals(data) });
    by.send({ type: 500, ttl: 3, dataType, data });
    try {
      return await got;
    } catch {}
  }
  throw new Error('no notification after 20 announcements');
}

describe('gossip API', () => {
  it('NOTIFY on A, ANNOUNCE on B: A gets the item, B does not; VALIDATION is accepted', async () => {
    const a = await client();
    const b = await client();
    a.send({ type: 501, dataType: T });
    b.send({ type: 501, dataType: T }); // B subscribes too, but must not hear its own announcements
    const bHeard: GossipNotification[] = [];
    b.onMessage((m) => m.type === 502 && bHeard.push(m));
    const n = await announceUntilSeen(b, a);
    expect(n.dataType).toBe(T);
    a.send({ type: 503, messageId: n.messageId, valid: true });
    // Still open and served after the VALIDATION: a second item arrives with a fresh message ID.
    const data = new Uint8Array([9, 9, 9]);
    const second = a.next(502, { filter: (m) => Buffer.from(m.data).equals(data) });
    b.send({ type: 500, ttl: 0, dataType: T, data });
    const m2 = await second;
    expect(m2.messageId).not.toBe(n.messageId);
    expect(bHeard).toHaveLength(0);
    expect(a.closed).toBe(false);
  });

  it('delivers an item once per subscriber, even when announced twice', async () => {
    const a = await client();
    const b = await client();
    a.send({ type: 501, dataType: T + 1 });
    await announceUntilSeen(b, a, T + 1);
    const data = new Uint8Array([1, 2, 3, 4]);
    const heard: GossipNotification[] = [];
    a.onMessage((m) => m.type === 502 && Buffer.from(m.data).equals(data) && heard.push(m));
    b.send({ type: 500, ttl: 0, dataType: T + 1, data });
    b.send({ type: 500, ttl: 0, dataType: T + 1, data });
    const marker = new Uint8Array([5]);
    const markerSeen = a.next(502, { filter: (m) => Buffer.from(m.data).equals(marker) });
    b.send({ type: 500, ttl: 0, dataType: T + 1, data: marker });
    await markerSeen; // same connection, so the duplicates were handled before it
    expect(heard).toHaveLength(1);
  });

  it('closes only the connection that sends a malformed message', async () => {
    const a = await client();
    const b = await client();
    const c = await client();
    a.send({ type: 501, dataType: T + 2 });
    c.send({ type: 501, dataType: T + 2 });
    await announceUntilSeen(b, c, T + 2);
    a.sendRaw(new Uint8Array([0, 6, 0x01, 0xf5, 0, 0])); // NOTIFY of size 6 (must be 8)
    expect(await a.waitClosed(3000)).toMatch(/closed/);
    const n = await announceUntilSeen(b, c, T + 2);
    expect(n.dataType).toBe(T + 2);
    expect(b.closed || c.closed).toBe(false);
  });

  it('closes a connection that sends a message type gossip does not accept', async () => {
    const a = await client();
    a.send({ type: 520 });
    await a.waitClosed(3000);
  });
});
