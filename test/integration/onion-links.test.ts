// What relays put on their links, captured by TCP proxies that every link passes through: only whole
// cells of the one size, no cell repeated on two links; a peer breaking framing is disconnected.
// Also COVER: n bytes reach a random destination and come back.
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType } from '../../shared/wire/types.ts';
import { loadHostkey } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import { WIRE_CELL_SIZE } from '../../relay/onion/cell.ts';
import { dialLink } from '../../relay/onion/link.ts';
import { OnionKeys } from '../../relay/onion/onionkey.ts';
import { type OnionNet, startOnionNet, waitFor } from './onion-support.ts';

interface Capture {
  streams: Buffer[][];
  server: Server;
  sockets: Set<Socket>;
}

/** A TCP proxy in front of `port` that records both byte streams of every connection. */
async function proxy(port: number): Promise<Capture & { port: number }> {
  const cap: Capture = { streams: [], server: createServer(), sockets: new Set() };
  cap.server.on('connection', (inbound) => {
    const outbound = connect({ host: '127.0.0.1', port });
    const up: Buffer[] = [];
    const down: Buffer[] = [];
    cap.streams.push(up, down);
    for (const s of [inbound, outbound]) {
      s.setNoDelay(true);
      cap.sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.on('data', (d) => {
      up.push(d);
      outbound.write(d);
    });
    outbound.on('data', (d) => {
      down.push(d);
      inbound.write(d);
    });
  });
  await new Promise<void>((r) => cap.server.listen(0, '127.0.0.1', () => r()));
  return { ...cap, port: (cap.server.address() as { port: number }).port };
}

let on: OnionNet;
const caps: (Capture & { port: number })[] = [];

beforeAll(async () => {
  // No shedding of stale cells here: all six relays share this process's event loop, and on a busy
  // machine the 65,000-byte message's 334 cells waited past the 100 ms input queue and were dropped
  // (stats.shed), by design for voice (test/integration/onion-shed.test.ts); this test is about framing.
  on = await startOnionNet(6, {
    'onion.cover_tunnel': 'true',
    'onion.input_queue_ms': '60000',
    'onion.circuit_queue_ms': '600000',
  });
  // Re-advertise every relay behind its proxy, so every link any relay dials goes through one.
  for (const p of on.rps.peers) {
    const c = await proxy(p.port);
    caps.push(c);
    p.port = c.port;
    p.portmap = [{ module: 560, port: c.port }];
  }
});
afterAll(async () => {
  await on?.stop();
  for (const c of caps) {
    for (const s of c.sockets) s.destroy();
    c.server.close();
  }
});

describe('onion links', () => {
  it('carry only whole cells of one size, never the same cell twice', async () => {
    const a = await on.client(0);
    const d = await on.client(5);
    const inc = d.next(MessageType.ONION_TUNNEL_INCOMING);
    const ready = await a.request(on.buildTo(5), MessageType.ONION_TUNNEL_READY, 10_000);
    const inId = (await inc).tunnelId;
    let got = 0;
    d.onMessage((m) => {
      if (m.type === MessageType.ONION_TUNNEL_DATA) got++;
    });
    for (const size of [0, 1, 100, 195, 196, 1000, 65_000]) {
      a.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: ready.tunnelId, data: new Uint8Array(size) });
      d.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: inId, data: new Uint8Array(size) });
    }
    await waitFor(() => got === 7, 10_000, 'all data at the destination');
    a.send({ type: MessageType.ONION_TUNNEL_DESTROY, tunnelId: ready.tunnelId });
    await new Promise((r) => setTimeout(r, 300)); // let the last cells through the proxies
    const seen = new Set<string>();
    let cells = 0;
    for (const c of caps) {
      for (const s of c.streams) {
        const all = Buffer.concat(s);
        expect(all.length % WIRE_CELL_SIZE).toBe(0);
        for (let at = 0; at < all.length; at += WIRE_CELL_SIZE) {
          const key = all.subarray(at, at + WIRE_CELL_SIZE).toString('hex');
          expect(seen.has(key)).toBe(false);
          seen.add(key);
          cells++;
        }
      }
    }
    expect(cells).toBeGreaterThan(700); // the 65,000-byte message alone is 334 cells per link
  });

  it('disconnects a peer that sends a wrong-size cell, before or after the handshake', async () => {
    const target = on.net.relays[1]!.p2p.onion!;
    const [host, port] = [target.split(':')[0]!, Number(target.split(':')[1])];
    // Before the handshake: 240 bytes that are not a HELLO.
    const raw = connect({ host, port });
    await new Promise((r) => raw.once('connect', r));
    const closed = new Promise((r) => raw.once('close', r));
    raw.write(randomBytes(WIRE_CELL_SIZE));
    await closed;
    // After the handshake: a real link, then one cell one byte short followed by a whole one.
    const hk = await loadHostkey(on.net.relays[3]!.hostkeyPath);
    const keys = new OnionKeys(hk, 3_600_000);
    const ctx = {
      identity: hk.identity,
      der: hk.spkiDer,
      keys,
      log: createLogger('t', 'silent'),
      handshakeTimeoutMs: 3000,
      maxQueuedBytes: 1 << 20,
      circuitQueueCells: 64,
      partialCellTimeoutMs: 1000,
    };
    const id = Buffer.from(on.debug(1) ? (await loadHostkey(on.net.relays[1]!.hostkeyPath)).identity : []);
    const link = await dialLink(ctx, host, port, id);
    const gone = new Promise<string>((r) => {
      link.onClose = r;
    });
    link.sendRaw(randomBytes(WIRE_CELL_SIZE - 1));
    link.sendRaw(randomBytes(WIRE_CELL_SIZE));
    expect(await gone).toMatch(/closed by peer|socket error/);
    // A partial cell that is never completed is cut off too.
    const link2 = await dialLink(ctx, host, port, id);
    const gone2 = new Promise<string>((r) => {
      link2.onClose = r;
    });
    link2.sendRaw(randomBytes(100));
    expect(await gone2).toMatch(/closed by peer|socket error/);
    keys.stop();
  });

  it('COVER n sends n bytes to a random destination which answers them back', async () => {
    await waitFor(() => on.debug(2).coverReady(), 10_000, 'a cover tunnel at relay 2');
    const before = on.debug(2).stats.coverEchoedBytes;
    const receivedBefore = [0, 1, 2, 3, 4, 5].reduce((s, i) => s + on.debug(i).stats.coverReceivedBytes, 0);
    const c = await on.client(2);
    c.send({ type: MessageType.ONION_COVER, coverSize: 1234 });
    c.send({ type: MessageType.ONION_COVER, coverSize: 100 });
    // Answered on the destination's own clock: the echoed bytes first, then fresh ones while COVER flows.
    await waitFor(() => on.debug(2).stats.coverEchoedBytes - before >= 1334, 5000, 'the echo');
    const received = [0, 1, 2, 3, 4, 5].reduce((s, i) => s + on.debug(i).stats.coverReceivedBytes, 0);
    expect(received - receivedBefore).toBeGreaterThanOrEqual(1334);
  });
});
