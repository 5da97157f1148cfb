// RPS API and P2P edges on real sockets: a query waits for the first peer, then is answered;
// with no peer at all it ends after query_timeout; API and P2P violations close only the
// offending connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../relay/api/client.ts';
import { startApiServer } from '../../relay/api/server.ts';
import { NseSource } from '../../relay/rps/feeds.ts';
import { loadHostkey } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import { connectLink } from '../../relay/p2p/index.ts';
import { RPS_PROTOCOL, RpsType } from '../../relay/rps/protocol.ts';
import { signRecord } from '../../relay/rps/record.ts';
import { parseAddress } from '../../shared/address.ts';
import { getKeys } from '../keypool.ts';
import { peerId, type RpsNet, startRpsNet, until } from './rps-helpers.ts';

let t: RpsNet;

beforeAll(async () => {
  // Relay 1 starts first: its bootstrapper (relay 0) is not up yet, so it knows nobody.
  t = await startRpsNet({ relays: 3, set: { 'rps.query_timeout': '20' }, defer: true });
  await t.start(1);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('rps api', () => {
  it('a query made while no peer is known is answered once one is', async () => {
    expect(t.rps[1]!.node.peers.size).toBe(0);
    const c = await ApiClient.connect(t.net.relays[1]!.api.rps!);
    const answer = c.next(541, { timeoutMs: 20_000 });
    c.send({ type: 540 });
    await t.start(0); // relay 1 retries its bootstrapper each round while alone
    const p = await answer;
    expect(peerId(p)).toBe(t.identities[0]);
    c.close();
  });

  it('with no peer at all, the query ends after query_timeout by closing the connection', async () => {
    // Relay 2 alone, with no bootstrapper and a short query_timeout.
    const m = await t.start(2, undefined, false);
    m.node.opts.queryTimeoutMs = 500;
    const c = await ApiClient.connect(t.net.relays[2]!.api.rps!);
    c.send({ type: 540 });
    await c.waitClosed(5_000);
  });

  it('an API violation closes only that connection', async () => {
    const good = await ApiClient.connect(t.net.relays[0]!.api.rps!);
    const bad = await ApiClient.connect(t.net.relays[0]!.api.rps!);
    bad.sendRaw(new Uint8Array([0, 4, 0x02, 0x1d])); // RPS PEER (541) sent to RPS
    await bad.waitClosed(5_000);
    const overflow = await ApiClient.connect(t.net.relays[0]!.api.rps!);
    overflow.sendRaw(new Uint8Array(Array.from({ length: 200 }, () => [0, 5, 0x02, 0x1c, 0]).flat())); // size 5
    await overflow.waitClosed(5_000);
    const p = await good.request({ type: 540 }, 541, 10_000);
    expect(t.identities).toContain(peerId(p));
    good.close();
  });

  it('P2P: pushing someone else\u2019s record or an unknown frame type drops that link', async () => {
    const [, , , k3] = await getKeys(4);
    const hostkey = await loadHostkey(k3!);
    const address = parseAddress(t.net.relays[0]!.p2p.rps!);
    const log = createLogger('rps-test-p2p');
    const dial = () => connectLink({ address, hostkey, protocol: RPS_PROTOCOL, powBits: 4, log });
    const a = await dial();
    const closedA = new Promise<string>((r) => a.onClose(r));
    a.send(RpsType.PUSH, t.rps[1]!.node.own.bytes); // relay 1's record, pushed by key 3
    expect(await closedA).toMatch(/not the pusher/);
    const b = await dial();
    const closedB = new Promise<string>((r) => b.onClose(r));
    b.send(1999, new Uint8Array(3));
    expect(await closedB).toMatch(/unknown RPS frame type/);
    const c = await dial();
    const closedC = new Promise<string>((r) => c.onClose(r));
    c.send(RpsType.PULL_REQUEST, new Uint8Array(7));
    expect(await closedC).toMatch(/expected 4/);
    // The relay still serves everyone else.
    await until(() => t.rps[0]!.node.peers.size >= 1, 5_000, 'relay 0 knows relay 1');
    const q = await t.query(0, 3);
    expect(q).toHaveLength(3);
  });

  it('P2P: a PUSH marks the peer alive only when the link comes from the address its record names', async () => {
    const [, , , , k4] = await getKeys(5);
    const hostkey = await loadHostkey(k4!);
    const address = parseAddress(t.net.relays[0]!.p2p.rps!);
    const log = createLogger('rps-test-p2p');
    const link = await connectLink({ address, hostkey, protocol: RPS_PROTOCOL, powBits: 4, log });
    const node = t.rps[0]!.node;
    const id = Buffer.from(hostkey.identity).toString('hex');
    const record = (host: string, time: number) =>
      signRecord({ address: host, portmap: [{ module: 540, port: 9 }], time }, hostkey).bytes;
    // Signed for 127.0.0.2, pushed from 127.0.0.1: learnt, but not alive (it must be probed there).
    link.send(RpsType.PUSH, record('127.0.0.2', Date.now()));
    await until(() => node.peers.get(id) !== undefined, 5_000, 'record learnt');
    expect(node.peers.get(id)!.lastAlive).toBe(0);
    // Signed for the address the link comes from: alive.
    link.send(RpsType.PUSH, record('127.0.0.1', Date.now() + 1));
    await until(() => node.peers.get(id)?.record.address === '127.0.0.1', 5_000, 'record updated');
    expect(node.peers.get(id)!.lastAlive).toBeGreaterThan(0);
    link.close('test over');
  });

  it('sizes view and samplers from the NSE estimate (fake NSE API server)', async () => {
    const log = createLogger('fake-nse');
    const nse = await startApiServer({
      module: 'nse',
      address: { host: '127.0.0.1', port: 0 },
      log,
      handler: {
        accepts: new Set([520]),
        onMessage: (conn) => {
          conn.send({ type: 521, estimate: 1000, deviation: 3 });
        },
      },
    });
    try {
      const node = t.rps[0]!.node;
      const source = new NseSource(parseAddress(nse.address), 2000, log);
      node.sizeSource = () => source.estimate();
      const start = node.rounds;
      await until(() => node.rounds >= start + 2, 10_000, '2 rounds');
      expect(node.networkSize).toBe(1000);
      expect(node.brahms.viewSize).toBe(40); // 4 * cbrt(1000)
      expect(node.brahms.samplers.size).toBe(40);
      source.close();
    } finally {
      await nse.close();
    }
  });
});
