// The call path through two real bridges and the real client code (BridgeConnection, BridgeOnionPort,
// CallManager) over real WebSockets; the Onion API is the spec's seam, faked by two API servers that
// join tunnels between them. It shows the pieces of issue 14 agree with each other: each bridge signs
// its page's offer (dated by the relay clock) and its answer (to the OFFER it delivered), the callee
// rings only after key confirmation, and a call from a stranger is met with silence.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WS from 'ws';
import { BridgeOnionPort } from '../../client/src/lib/api/onion-port.ts';
import { BridgeConnection } from '../../client/src/lib/bridge/connection.ts';
import { CallManager } from '../../client/src/lib/calls/manager.ts';
import type { CallSession } from '../../client/src/lib/calls/session.ts';
import { type ApiServer, startApiServer } from '../../relay/api/server.ts';
import type { ApiConnection } from '../../relay/api/types.ts';
import { create } from '../../relay/bridge/index.ts';
import { parseConfigText } from '../../relay/config.ts';
import { type Hostkey, loadHostkey } from '../../relay/hostkey.ts';
import type { RelayModule } from '../../relay/module.ts';
import { toHex } from '../../shared/identity.ts';
import { getKeys } from '../keypool.ts';
import { logCapture } from '../log-capture.ts';

const FAST = {
  retransmitMs: 50,
  maxTries: 40,
  keepaliveMs: 200,
  idleTimeoutMs: 5000,
  ringTimeoutMs: 10_000,
  lingerMs: 100,
};
const { log, lines } = logCapture(true);

/** One relay: its hostkey, a fake Onion API server, the real bridge in front of it. */
interface Relay {
  key: Hostkey;
  onion: ApiServer;
  conns: ApiConnection[];
  bridge: RelayModule & { url: string };
}
const relays: Relay[] = [];
/** Tunnel ends: "relay:conn:id" -> the other end. */
const ends = new Map<string, { conn: ApiConnection; id: number }>();
let nextTunnel = 1;

async function relay(key: Hostkey): Promise<Relay> {
  const r = { key, conns: [] } as unknown as Relay;
  r.onion = await startApiServer({
    module: 'onion',
    address: { host: '127.0.0.1', port: 0 },
    log,
    handler: {
      accepts: new Set([560, 563, 564, 566]),
      onConnect: (c) => r.conns.push(c),
      onMessage: (c, m) => {
        if (m.type === 560) {
          const to = relays.find((x) => Buffer.from(x.key.spkiDer).equals(Buffer.from(m.hostkey)));
          const far = to?.conns.at(-1);
          if (!far) return void c.send({ type: 565, requestType: 560, tunnelId: 0 });
          const [a, b] = [nextTunnel++, nextTunnel++];
          ends.set(`${c.id}:${a}`, { conn: far, id: b });
          ends.set(`${far.id}:${b}`, { conn: c, id: a });
          far.send({ type: 562, tunnelId: b });
          c.send({ type: 561, tunnelId: a, hostkey: m.hostkey });
        } else if (m.type === 564) {
          const other = ends.get(`${c.id}:${m.tunnelId}`);
          other?.conn.send({ type: 564, tunnelId: other.id, data: m.data });
        }
      },
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'call-bridge-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html>');
  const ini = `hostkey = x.pem\n[onion]\napi_address = ${r.onion.address}\n[bridge]\nhttp_address = 127.0.0.1:0\nclient_dir = ${dir}\nvalidate_presence = false\n`;
  r.bridge = (await create({
    config: parseConfigText(join(dir, 'relay.ini'), ini),
    hostkey: key,
    log,
  })) as Relay['bridge'];
  relays.push(r);
  return r;
}

/** The page's side, in Node: a WebSocket that sends the Origin a browser would. */
async function page(r: Relay, contacts: Hostkey[]): Promise<CallManager> {
  const origin = new URL(r.bridge.url).origin;
  (globalThis as { WebSocket?: unknown }).WebSocket = class extends WS {
    constructor(url: string) {
      super(url, { origin });
    }
  };
  const conn = new BridgeConnection(
    `ws://${new URL(r.bridge.url).host}/ws?token=${new URL(r.bridge.url).hash.slice(7)}`,
  );
  const up = new Promise<void>((resolve) => conn.onStatus((s) => s === 'open' && resolve()));
  conn.start();
  await up;
  const hello = conn.hello!;
  const onion = new BridgeOnionPort(conn, () => 10_000);
  const now = () => Date.now() + hello.clockOffsetMs;
  const m = new CallManager({
    onion,
    sign: (d) => conn.sign('call', d),
    ownSpki: hello.hostkey,
    contactKey: (id) => contacts.find((c) => toHex(c.identity) === id)?.spkiDer,
    allowUnknownCallers: () => false,
    timings: FAST,
    now,
  });
  stops.push(() => {
    m.stop();
    onion.stop();
    conn.stop();
  });
  return m;
}
const stops: (() => void)[] = [];

let alice: Relay;
let bob: Relay;
let carol: Relay;
beforeAll(async () => {
  const keys = await Promise.all((await getKeys(3)).map(loadHostkey));
  [alice, bob, carol] = [await relay(keys[0]!), await relay(keys[1]!), await relay(keys[2]!)];
});
afterAll(async () => {
  for (const s of stops) s();
  for (const r of relays) {
    await r.bridge.stop();
    await r.onion.close();
  }
});

function nextCall(m: CallManager, ms: number): Promise<CallSession | null> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(null), ms);
    m.onCall((s) => {
      clearTimeout(t);
      resolve(s);
    });
  });
}

function ended(s: CallSession, ms: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    if (s.state === 'ended') return resolve(s.endReason);
    const t = setTimeout(() => reject(new Error(`still ${s.state}`)), ms);
    s.onState((st) => {
      if (st !== 'ended') return;
      clearTimeout(t);
      resolve(s.endReason);
    });
  });
}

describe('a call through two real bridges', () => {
  it('each bridge signs its side; the callee rings after key confirmation; accept, media, hang up', async () => {
    const a = await page(alice, [bob.key]);
    const b = await page(bob, [alice.key]);
    const ringing = nextCall(b, 10_000);
    const out = await a.call({ spki: bob.key.spkiDer, host: '127.0.0.1', port: 1 });
    const inc = await ringing;
    expect(inc?.peerId).toBe(toHex(alice.key.identity));
    inc!.accept();
    await new Promise<void>((resolve) => out.onState((s) => s === 'connected' && resolve()));
    const got = new Promise<string>((resolve) => inc!.onMedia((p) => resolve(new TextDecoder().decode(p))));
    out.sendMedia(new TextEncoder().encode('hello bob'));
    expect(await got).toBe('hello bob');
    out.hangup();
    expect(await ended(inc!, 5000)).toBe('hangup-remote');
    expect(lines.filter((l) => /sign request refused/.test(l))).toEqual([]);
  });

  it('a stranger calling hears nothing, and the callee never rings', async () => {
    const b = await page(bob, [alice.key]);
    const c = await page(carol, [bob.key]);
    const ringing = nextCall(b, 4000);
    const out = await c.call({ spki: bob.key.spkiDer, host: '127.0.0.1', port: 1 });
    expect(await ended(out, 10_000)).toBe('no-answer');
    expect(await ringing).toBeNull();
  });
});
