// The NSE API handler on a real API server (QUERY -> exactly one 12-byte ESTIMATE) and the Gossip link
// against a fake Gossip API server (the spec's seam): NOTIFY on connect, VALIDATION for every
// NOTIFICATION, and reconnection after Gossip restarts.
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../relay/api/client.ts';
import { type ApiServer, startApiServer } from '../../relay/api/server.ts';
import type { ApiConnection } from '../../relay/api/types.ts';
import { createLogger } from '../../relay/log.ts';
import { GossipLink } from '../../relay/nse/gossip-link.ts';
import { nseApiHandler } from '../../relay/nse/service.ts';
import type { ApiMessage } from '../../shared/wire/types.ts';

const log = createLogger('nse-test', 'silent');
const local = { host: '127.0.0.1', port: 0 };
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function nseServer(estimate = { estimate: 42, deviation: 7, rounds: 3 }): Promise<ApiServer> {
  const s = await startApiServer({
    module: 'nse',
    address: local,
    handler: nseApiHandler(() => estimate),
    log,
  });
  cleanup.push(() => s.close());
  return s;
}

describe('NSE API', () => {
  it('answers each QUERY with one 12-byte ESTIMATE, also when queries arrive in one segment', async () => {
    const s = await nseServer();
    const sock = connect({ host: '127.0.0.1', port: s.port });
    cleanup.push(() => sock.destroy());
    const query = Uint8Array.of(0, 4, 0x02, 0x08);
    const got: Buffer[] = [];
    const all = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no estimates')), 5000);
      sock.on('data', (d) => {
        got.push(d);
        const b = Buffer.concat(got);
        if (b.length >= 36) {
          clearTimeout(timer);
          resolve(b);
        }
      });
    });
    sock.write(Buffer.concat([query, query, query]));
    const b = await all;
    const one = Buffer.from([0, 12, 0x02, 0x09, 0, 0, 0, 42, 0, 0, 0, 7]);
    expect(b).toEqual(Buffer.concat([one, one, one]));
  });

  it('a message NSE does not accept closes only that connection', async () => {
    const s = await nseServer();
    const bad = await ApiClient.connect(s.address);
    const good = await ApiClient.connect(s.address);
    cleanup.push(
      () => bad.close(),
      () => good.close(),
    );
    bad.send({ type: 521, estimate: 1, deviation: 0 });
    await bad.waitClosed(5000);
    const reply = await good.request({ type: 520 }, 521, 5000);
    expect(reply).toEqual({ type: 521, estimate: 42, deviation: 7 });
  });
});

/** A stand-in Gossip API: records what NSE sends and lets the test push notifications. */
async function fakeGossip(port = 0) {
  const seen: ApiMessage[] = [];
  const conns = new Set<ApiConnection>();
  const waiters: (() => void)[] = [];
  const server = await startApiServer({
    module: 'gossip',
    address: { host: '127.0.0.1', port },
    log,
    handler: {
      accepts: new Set([500, 501, 503]),
      onConnect: (c) => conns.add(c),
      onDisconnect: (c) => conns.delete(c),
      onMessage: (_c, m) => {
        seen.push(m);
        for (const w of waiters.splice(0)) w();
      },
    },
  });
  const until = (pred: (m: ApiMessage) => boolean, timeoutMs = 5000) =>
    new Promise<ApiMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting on fake gossip')), timeoutMs);
      const check = () => {
        const m = seen.find(pred);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        } else waiters.push(check);
      };
      check();
    });
  return { server, seen, conns, until };
}

describe('Gossip link', () => {
  it('sends NOTIFY, answers NOTIFICATIONs, announces, and reconnects after Gossip restarts', async () => {
    let g = await fakeGossip();
    const port = g.server.port;
    const link = new GossipLink({
      address: { host: '127.0.0.1', port },
      dataType: 0x4e53,
      log,
      validate: (d) => d[0] === 1,
      minBackoffMs: 20,
      maxBackoffMs: 200,
    });
    cleanup.push(
      () => link.stop(),
      () => g.server.close(),
    );
    link.start();
    await g.until((m) => m.type === 501 && m.dataType === 0x4e53);
    expect(link.upSince()).toBeDefined();
    const conn = [...g.conns][0]!;
    conn.send({ type: 502, messageId: 7, dataType: 0x4e53, data: Uint8Array.of(1) });
    conn.send({ type: 502, messageId: 8, dataType: 0x4e53, data: Uint8Array.of(0) });
    conn.send({ type: 502, messageId: 9, dataType: 0x1234, data: Uint8Array.of(1) });
    expect(await g.until((m) => m.type === 503 && m.messageId === 7)).toMatchObject({ valid: true });
    expect(await g.until((m) => m.type === 503 && m.messageId === 8)).toMatchObject({ valid: false });
    expect(await g.until((m) => m.type === 503 && m.messageId === 9)).toMatchObject({ valid: false });
    expect(link.announce(Uint8Array.of(5, 6))).toBe(true);
    expect(await g.until((m) => m.type === 500)).toMatchObject({ ttl: 0, dataType: 0x4e53 });

    await g.server.close();
    await waitFor(() => link.upSince() === undefined);
    expect(link.announce(Uint8Array.of(1))).toBe(false);
    g = await fakeGossip(port);
    await g.until((m) => m.type === 501 && m.dataType === 0x4e53);
    await waitFor(() => link.upSince() !== undefined);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
