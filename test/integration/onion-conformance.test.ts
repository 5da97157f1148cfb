// API 560-566 against real onion relays on loopback (hops from a fake RPS API server).
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType } from '../../shared/wire/types.ts';
import { type OnionNet, startOnionNet, waitFor } from './onion-support.ts';

let on: OnionNet;

beforeAll(async () => {
  on = await startOnionNet(5, { 'onion.build_timeout_ms': '3000' }, (i) =>
    i === 2 ? { 'onion.max_tunnels_per_connection': '2' } : ({} as Record<string, string>),
  );
});
afterAll(async () => {
  await on?.stop();
});

describe('onion API conformance', () => {
  it('BUILD -> READY with the destination DER; INCOMING at every API connection; DATA both ways', async () => {
    const a = await on.client(0);
    const d1 = await on.client(4);
    const d2 = await on.client(4);
    const inc1 = d1.next(MessageType.ONION_TUNNEL_INCOMING);
    const inc2 = d2.next(MessageType.ONION_TUNNEL_INCOMING);
    const ready = await a.request(on.buildTo(4), MessageType.ONION_TUNNEL_READY, 10_000);
    expect(Buffer.from(ready.hostkey)).toEqual(Buffer.from(on.der[4]!));
    const [i1, i2] = await Promise.all([inc1, inc2]);
    expect(i1.tunnelId).toBe(i2.tunnelId);
    const inId = i1.tunnelId;

    const big = new Uint8Array(5000).map((_, i) => i * 7);
    const got1 = d1.next(MessageType.ONION_TUNNEL_DATA);
    const got2 = d2.next(MessageType.ONION_TUNNEL_DATA);
    a.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: ready.tunnelId, data: big });
    const [m1, m2] = await Promise.all([got1, got2]);
    expect(m1.tunnelId).toBe(inId);
    expect(Buffer.from(m1.data)).toEqual(Buffer.from(big));
    expect(Buffer.from(m2.data)).toEqual(Buffer.from(big));

    const back = a.next(MessageType.ONION_TUNNEL_DATA);
    d1.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: inId, data: new Uint8Array([1, 2, 3]) });
    const b = await back;
    expect(b.tunnelId).toBe(ready.tunnelId);
    expect([...b.data]).toEqual([1, 2, 3]);

    // d1 destroys: data now goes only to d2.
    d1.send({ type: MessageType.ONION_TUNNEL_DESTROY, tunnelId: inId });
    const only2 = d2.next(MessageType.ONION_TUNNEL_DATA);
    a.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: ready.tunnelId, data: new Uint8Array([9]) });
    expect([...(await only2).data]).toEqual([9]);
    // d2 destroys too: the tunnel is torn down and the initiator is told with ONION ERROR.
    const err = a.next(MessageType.ONION_ERROR);
    d2.send({ type: MessageType.ONION_TUNNEL_DESTROY, tunnelId: inId });
    expect((await err).tunnelId).toBe(ready.tunnelId);
  });

  it('an unreachable destination gets ONION ERROR (560, tunnel 0) within the build timeout', async () => {
    const a = await on.client(1);
    const t0 = Date.now();
    // A hostkey no relay has (a relay with a link to that identity would reuse it, whatever the address).
    // Encoded by the job itself (exporting a job's KeyObject can deadlock on Node 20: relay/x25519.ts).
    const { publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 1024,
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    });
    const der = new Uint8Array(publicKey);
    const err = await a.request(
      { type: 560, address: '127.0.0.1', port: 1, hostkey: der },
      MessageType.ONION_ERROR,
      10_000,
    );
    expect(err.requestType).toBe(560);
    expect(err.tunnelId).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000 + 2000);
  });

  it('COVER while holding a READY tunnel closes the connection, unless it crossed the READY', async () => {
    const a = await on.client(2);
    const ready = await a.request(on.buildTo(0), MessageType.ONION_TUNNEL_READY, 10_000);
    // The client keeps its cover going while its BUILD waits (issue 15): a COVER sent before the
    // READY arrived is dropped. Once the client has named the tunnel, COVER is a violation.
    a.send({ type: MessageType.ONION_COVER, coverSize: 100 });
    const e = await a.request(
      { type: 564, tunnelId: 12345, data: new Uint8Array(1) },
      MessageType.ONION_ERROR,
    );
    expect(a.closed).toBe(false);
    expect(e.requestType).toBe(564);
    a.send({ type: 564, tunnelId: ready.tunnelId, data: new Uint8Array(1) });
    a.send({ type: MessageType.ONION_COVER, coverSize: 100 });
    await a.waitClosed(5000);
  });
});

describe('onion API edge cases', () => {
  it('DATA or DESTROY for a tunnel the connection does not hold gets ONION ERROR, not a close', async () => {
    const a = await on.client(3);
    const e1 = await a.request(
      { type: 564, tunnelId: 12345, data: new Uint8Array(3) },
      MessageType.ONION_ERROR,
    );
    expect([e1.requestType, e1.tunnelId]).toEqual([564, 12345]);
    const e2 = await a.request({ type: 563, tunnelId: 777 }, MessageType.ONION_ERROR);
    expect([e2.requestType, e2.tunnelId]).toEqual([563, 777]);
    expect(a.closed).toBe(false);
  });

  it('an initiator DESTROY ends the tunnel at the destination; a closed initiator connection too', async () => {
    const d = await on.client(1);
    for (const how of ['destroy', 'disconnect'] as const) {
      const a = await on.client(0);
      const inc = d.next(MessageType.ONION_TUNNEL_INCOMING);
      const ready = await a.request(on.buildTo(1), MessageType.ONION_TUNNEL_READY, 10_000);
      const inId = (await inc).tunnelId;
      const before = on.debug(1).inTunnels();
      if (how === 'destroy') a.send({ type: 563, tunnelId: ready.tunnelId });
      else a.close();
      await waitFor(
        () => on.debug(1).inTunnels() === before - 1,
        5000,
        'the tunnel to end at the destination',
      );
      const e = await d.request(
        { type: 564, tunnelId: inId, data: new Uint8Array(1) },
        MessageType.ONION_ERROR,
      );
      expect(e.tunnelId).toBe(inId);
    }
  });

  it('limits tunnels per API connection (further BUILDs get ONION ERROR)', async () => {
    const a = await on.client(2); // relay 2 allows 2 tunnels per connection
    for (let i = 0; i < 2; i++) await a.request(on.buildTo(4), MessageType.ONION_TUNNEL_READY, 10_000);
    const e = await a.request(on.buildTo(4), MessageType.ONION_ERROR, 10_000);
    expect([e.requestType, e.tunnelId]).toEqual([560, 0]);
  });

  it('stops building (no OPEN, no INCOMING) when the API connection that asked goes away', async () => {
    const d = await on.client(3);
    let incoming = 0;
    d.onMessage((m) => m.type === MessageType.ONION_TUNNEL_INCOMING && incoming++);
    const a = await on.client(1);
    a.send(on.buildTo(3));
    a.close(); // right behind the BUILD: the relay sees it before the circuit reaches the destination
    const built = on.debug(1).stats.circuitsBuilt;
    await new Promise((r) => setTimeout(r, 1500));
    expect(incoming).toBe(0);
    expect(on.debug(1).stats.circuitsBuilt - built).toBeLessThanOrEqual(1);
  });
});
