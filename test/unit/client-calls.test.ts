// Call signalling, handshake and frame crypto between two (or three) CallManagers joined by an
// in-memory stand-in for the Onion API (a seam the spec defines), with loss, duplication and reordering.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Hostkey, loadHostkey } from '../../relay/hostkey.ts';
import { signFor } from '../../relay/bridge/sign.ts';
import { toHex } from '../../shared/identity.ts';
import { FrameCipher } from '../../client/src/lib/calls/frames.ts';
import {
  deriveKeys,
  newEphemeral,
  type OfferFields,
  offerTranscript,
} from '../../client/src/lib/calls/handshake.ts';
import { CallManager, type OnionPort } from '../../client/src/lib/calls/manager.ts';
import type { CallSession, CallState } from '../../client/src/lib/calls/session.ts';
import { decodeCallFrame, encodeCallerKey, encodeOffer, Kind } from '../../client/src/lib/calls/wire.ts';
import { getKeys } from '../keypool.ts';
import { mulberry32 } from '../prng.ts';

const keys = await Promise.all((await getKeys(3)).map(loadHostkey));
const [alice, bob, carol] = keys as [Hostkey, Hostkey, Hostkey];

interface Chaos {
  loss: number;
  dup: number;
  maxDelayMs: number;
}

/** Tunnels between ports; each send may be lost, duplicated or delayed (so reordered). */
class FakeOnion {
  private nextId = 1;
  private readonly ports = new Map<string, Port>();
  private readonly links = new Map<string, { port: Port; id: number }>(); // "port:id" -> other end
  chaos: Chaos = { loss: 0, dup: 0, maxDelayMs: 0 };
  private rand = mulberry32(42);

  port(owner: Hostkey): Port {
    const p = new Port(this, toHex(owner.identity));
    this.ports.set(p.name, p);
    return p;
  }

  async build(from: Port, spki: Uint8Array): Promise<number> {
    const to = [...this.ports.values()].find(
      (p) => p.name === toHex(keys.find((k) => Buffer.compare(k.spkiDer, spki) === 0)!.identity),
    );
    if (!to) throw new Error('no route');
    const a = this.nextId++;
    const b = this.nextId++;
    this.links.set(`${from.name}:${a}`, { port: to, id: b });
    this.links.set(`${to.name}:${b}`, { port: from, id: a });
    await new Promise((r) => setTimeout(r, 5));
    for (const cb of to.incoming) cb(b);
    return a;
  }

  deliver(from: Port, id: number, data: Uint8Array): void {
    const other = this.links.get(`${from.name}:${id}`);
    if (!other) return;
    const copies = this.rand() < this.chaos.loss ? 0 : this.rand() < this.chaos.dup ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delay = Math.floor(this.rand() * this.chaos.maxDelayMs);
      setTimeout(() => {
        if (this.links.has(`${other.port.name}:${other.id}`))
          for (const cb of other.port.data) cb(other.id, data.slice());
      }, delay);
    }
  }

  destroy(from: Port, id: number): void {
    this.links.delete(`${from.name}:${id}`);
  }
}

class Port implements OnionPort {
  readonly incoming = new Set<(id: number) => void>();
  readonly data = new Set<(id: number, d: Uint8Array) => void>();
  destroyed: number[] = [];
  /** DATA messages this port sent (each one ONION TUNNEL DATA = one packet on the wire). */
  sent = 0;
  /** Every frame sent, by tunnel id. */
  readonly sentTo = new Map<number, Uint8Array[]>();
  constructor(
    private readonly net: FakeOnion,
    readonly name: string,
  ) {}
  build(dest: { spki: Uint8Array }) {
    return this.net.build(this, dest.spki);
  }
  send(id: number, d: Uint8Array) {
    this.sent++;
    this.sentTo.set(id, [...(this.sentTo.get(id) ?? []), d.slice()]);
    this.net.deliver(this, id, d);
  }
  destroy(id: number) {
    this.destroyed.push(id);
    this.net.destroy(this, id);
  }
  onIncoming(cb: (id: number) => void) {
    this.incoming.add(cb);
    return () => this.incoming.delete(cb);
  }
  onData(cb: (id: number, d: Uint8Array) => void) {
    this.data.add(cb);
    return () => this.data.delete(cb);
  }
}

const FAST = {
  retransmitMs: 20,
  maxTries: 60,
  keepaliveMs: 50,
  idleTimeoutMs: 3000,
  ringTimeoutMs: 5000,
  lingerMs: 100,
};
const managers: CallManager[] = [];
afterEach(() => {
  for (const m of managers.splice(0)) m.stop();
});

const portOf = new WeakMap<CallManager, Port>();

function manager(
  net: FakeOnion,
  me: Hostkey,
  contacts: Hostkey[],
  allowUnknown = false,
  timings: Partial<typeof FAST> = FAST,
) {
  const port = net.port(me);
  const m = new CallManager({
    onion: port,
    sign: async (d) => signFor(me, 'call', d),
    ownSpki: me.spkiDer,
    contactKey: (id) => contacts.find((c) => toHex(c.identity) === id)?.spkiDer,
    allowUnknownCallers: () => allowUnknown,
    timings,
  });
  portOf.set(m, port);
  managers.push(m);
  return m;
}

function nextCall(m: CallManager, timeoutMs = 5000): Promise<CallSession> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no call')), timeoutMs);
    const off = m.onCall((s) => {
      clearTimeout(timer);
      off();
      resolve(s);
    });
  });
}

function reach(s: CallSession, state: CallState, timeoutMs = 8000): Promise<void> {
  if (s.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`still ${s.state} (${s.endReason}), wanted ${state}`)),
      timeoutMs,
    );
    const off = s.onState((now) => {
      if (now !== state) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

function collect(s: CallSession, n: number, timeoutMs = 8000): Promise<string[]> {
  const got = new Set<string>();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`got ${got.size}/${n} media frames`)), timeoutMs);
    s.onMedia((p) => {
      got.add(new TextDecoder().decode(p));
      if (got.size === n) {
        clearTimeout(timer);
        resolve([...got].sort());
      }
    });
  });
}

async function callAndAnswer(net: FakeOnion, a: CallManager, b: CallManager, callee: Hostkey) {
  const incoming = nextCall(b);
  const out = await a.call({ spki: callee.spkiDer, host: '127.0.0.1', port: 1 });
  const inc = await incoming;
  await reach(out, 'ringing');
  expect(inc.state).toBe('incoming');
  expect(inc.peerId).toBe(toHex((net && a && keys.find((k) => toHex(k.identity) === inc.peerId))!.identity));
  return { out, inc };
}

describe('handshake and frame crypto', () => {
  const offer: OfferFields = {
    callId: new Uint8Array(8).fill(1),
    timestamp: 1,
    callerEph: new Uint8Array(32),
    callerIdentity: alice.identity,
    calleeIdentity: bob.identity,
  };

  it('both sides derive matching directional keys; frames open once, in any order', () => {
    const c = newEphemeral();
    const s = newEphemeral();
    const o = { ...offer, callerEph: c.public };
    const ck = deriveKeys('caller', c, s.public, o, s.public);
    const sk = deriveKeys('callee', s, c.public, o, s.public);
    expect(ck.send).toEqual(sk.recv);
    expect(ck.recv).toEqual(sk.send);
    expect(ck.send).not.toEqual(ck.recv);
    const tx = new FrameCipher(ck, o.callId);
    const rx = new FrameCipher(sk, o.callId);
    const frames = [1, 2, 3, 4].map((i) => tx.seal(Uint8Array.of(i)));
    expect(rx.open(frames[2]!)).toEqual(Uint8Array.of(3));
    expect(rx.open(frames[0]!)).toEqual(Uint8Array.of(1)); // reordered: fine
    expect(rx.open(frames[2]!)).toBeNull(); // replayed
    const bad = frames[1]!.slice();
    bad[bad.length - 1]! ^= 1;
    expect(rx.open(bad)).toBeNull(); // tampered
    expect(rx.open(frames[1]!)).toEqual(Uint8Array.of(2));
    expect(new FrameCipher(ck, o.callId).open(frames[3]!)).toBeNull(); // wrong direction key
  });

  it('a different transcript gives different keys; a low-order key is refused', () => {
    const c = newEphemeral();
    const s = newEphemeral();
    const o = { ...offer, callerEph: c.public };
    const k1 = deriveKeys('caller', c, s.public, o, s.public);
    const k2 = deriveKeys('caller', c, s.public, { ...o, timestamp: 2 }, s.public);
    expect(k1.send).not.toEqual(k2.send);
    expect(() => deriveKeys('caller', c, new Uint8Array(32), o, new Uint8Array(32))).toThrow();
  });
});

describe('call signalling', () => {
  it('call, ring, accept, media both ways, hang up; tunnels are destroyed', async () => {
    const net = new FakeOnion();
    const a = manager(net, alice, [bob]);
    const b = manager(net, bob, [alice]);
    const { out, inc } = await callAndAnswer(net, a, b, bob);
    expect(inc.peerId).toBe(toHex(alice.identity));
    inc.accept();
    await reach(out, 'connected');
    const toBob = collect(inc, 3);
    const toAlice = collect(out, 3);
    for (const i of [1, 2, 3]) {
      out.sendMedia(new TextEncoder().encode(`a${i}`));
      inc.sendMedia(new TextEncoder().encode(`b${i}`));
    }
    expect(await toBob).toEqual(['a1', 'a2', 'a3']);
    expect(await toAlice).toEqual(['b1', 'b2', 'b3']);
    out.hangup();
    await reach(inc, 'ended');
    expect([out.endReason, inc.endReason]).toEqual(['hangup-local', 'hangup-remote']);
    await expect.poll(() => net && (a as unknown as { tunnels: Map<number, unknown> }).tunnels.size).toBe(0);
    await expect.poll(() => (b as unknown as { tunnels: Map<number, unknown> }).tunnels.size).toBe(0);
  });

  it('works under 30% loss, 20% duplication and reordering', async () => {
    const net = new FakeOnion();
    net.chaos = { loss: 0.3, dup: 0.2, maxDelayMs: 40 };
    const a = manager(net, alice, [bob]);
    const b = manager(net, bob, [alice]);
    const { out, inc } = await callAndAnswer(net, a, b, bob);
    inc.accept();
    await reach(out, 'connected');
    // Media is best effort: send until a few distinct frames made it each way.
    const toBob = collect(inc, 5);
    const toAlice = collect(out, 5);
    let i = 0;
    const pump = setInterval(() => {
      i++;
      out.sendMedia(new TextEncoder().encode(`a${i}`));
      inc.sendMedia(new TextEncoder().encode(`b${i}`));
    }, 5);
    await Promise.all([toBob, toAlice]);
    clearInterval(pump);
    inc.hangup();
    await reach(out, 'ended');
    expect(out.endReason).toBe('hangup-remote');
  });

  it('reject ends the call on both sides', async () => {
    const net = new FakeOnion();
    net.chaos = { loss: 0.2, dup: 0.2, maxDelayMs: 20 };
    const a = manager(net, alice, [bob]);
    const b = manager(net, bob, [alice]);
    const { out, inc } = await callAndAnswer(net, a, b, bob);
    inc.reject();
    await reach(out, 'ended');
    expect([out.endReason, inc.endReason]).toEqual(['rejected', 'declined']);
  });

  it('a second caller gets busy while a call is live', async () => {
    const net = new FakeOnion();
    const a = manager(net, alice, [bob]);
    const b = manager(net, bob, [alice, carol]);
    const c = manager(net, carol, [bob]);
    const { out, inc } = await callAndAnswer(net, a, b, bob);
    inc.accept();
    await reach(out, 'connected');
    const third = await c.call({ spki: bob.spkiDer, host: '127.0.0.1', port: 1 });
    await reach(third, 'ended');
    expect(third.endReason).toBe('busy');
    expect(b.current).toBe(inc);
    expect(inc.state).toBe('connected');
    await expect(a.call({ spki: bob.spkiDer, host: '127.0.0.1', port: 1 })).rejects.toThrow(
      /already in a call/,
    );
  });

  it('a caller who is not a contact hears nothing (silence), unless allowed', async () => {
    const net = new FakeOnion();
    const c = manager(net, carol, [bob], false, { ...FAST, maxTries: 10 });
    const b = manager(net, bob, []);
    const refused = await c.call({ spki: bob.spkiDer, host: '127.0.0.1', port: 1 });
    await reach(refused, 'ended');
    expect(refused.endReason).toBe('no-answer');
    expect(portOf.get(b)!.sent).toBe(0);

    const net2 = new FakeOnion();
    const c2 = manager(net2, carol, [bob]);
    const b2 = manager(net2, bob, [], true);
    const { inc } = await callAndAnswer(net2, c2, b2, bob);
    expect(inc.peerId).toBe(toHex(carol.identity));
  });

  it('the caller can cancel while it rings; the callee stops ringing', async () => {
    const net = new FakeOnion();
    const a = manager(net, alice, [bob]);
    const b = manager(net, bob, [alice]);
    const { out, inc } = await callAndAnswer(net, a, b, bob);
    out.hangup();
    await reach(inc, 'ended');
    expect(inc.endReason).toBe('missed');
  });

  it('an offer signed by someone else is not answered', async () => {
    const net = new FakeOnion();
    // Mallory (carol's key) claims to be alice: bob knows alice, the signature can't match.
    const m = new CallManager({
      onion: net.port(carol),
      sign: async (d) => signFor(carol, 'call', d),
      ownSpki: alice.spkiDer, // lies about who it is
      contactKey: () => undefined,
      allowUnknownCallers: () => false,
      timings: { ...FAST, maxTries: 10 },
    });
    managers.push(m);
    const b = manager(net, bob, [alice]);
    let rang = false;
    b.onCall(() => {
      rang = true;
    });
    const s = await m.call({ spki: bob.spkiDer, host: '127.0.0.1', port: 1 });
    await reach(s, 'ended');
    expect(s.endReason).toBe('no-answer');
    expect(rang).toBe(false);
    expect(portOf.get(b)!.sent).toBe(0);
  });
});

/** The two frames a caller sends: OFFER (claiming `claims`, signed by `signer`) and CALLER_KEY (`presents`). */
function probe(o: { claims: Hostkey; presents: Hostkey; signer?: Hostkey; callee: Hostkey; ts?: number }) {
  const fields: OfferFields = {
    callId: randomBytes(8),
    timestamp: o.ts ?? Date.now(),
    callerEph: newEphemeral().public,
    callerIdentity: o.claims.identity,
    calleeIdentity: o.callee.identity,
  };
  const sig = o.signer ? signFor(o.signer, 'call', offerTranscript(fields)) : randomBytes(512);
  return [
    encodeOffer({ ...fields, eph: fields.callerEph, sig }),
    encodeCallerKey(fields.callId, o.presents.spkiDer),
  ];
}

/** Opens an incoming tunnel on `port` (as the onion would) and delivers `frames` through it. */
function inject(port: Port, id: number, frames: Uint8Array[]): void {
  for (const cb of port.incoming) cb(id);
  for (const f of frames) for (const cb of port.data) cb(id, f);
}

describe('against strangers (issue 14)', () => {
  it("an offer claiming a contact with a bad signature and a stranger's offer get the same answer: none, and the same end", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const net = new FakeOnion();
      const b = new CallManager({
        onion: net.port(bob),
        sign: async (d) => signFor(bob, 'call', d),
        ownSpki: bob.spkiDer,
        contactKey: (id) => (id === toHex(alice.identity) ? alice.spkiDer : undefined),
        allowUnknownCallers: () => false,
        timings: FAST,
        offerWaitMs: 4000,
      });
      managers.push(b);
      const port = (b as unknown as { o: { onion: Port } }).o.onion;
      const probes = {
        contactJunkSig: probe({ claims: alice, presents: alice, callee: bob }),
        contactSignedByOther: probe({ claims: alice, presents: alice, signer: carol, callee: bob }),
        contactOtherKey: probe({ claims: alice, presents: carol, signer: carol, callee: bob }),
        contactStale: probe({
          claims: alice,
          presents: alice,
          signer: alice,
          callee: bob,
          ts: Date.now() - 600_000,
        }),
        stranger: probe({ claims: carol, presents: carol, signer: carol, callee: bob }),
        strangerJunkSig: probe({ claims: carol, presents: carol, callee: bob }),
      };
      const ids = Object.keys(probes).map((_, i) => 100 + i);
      for (const [i, frames] of Object.values(probes).entries()) inject(port, ids[i]!, frames);
      // The control: the real contact, on tunnel 99, is answered (so the verdicts above were reached).
      inject(port, 99, probe({ claims: alice, presents: alice, signer: alice, callee: bob }));
      await vi.waitFor(() => expect(port.sentTo.get(99)?.length).toBeGreaterThan(0), {
        timeout: 5000,
        interval: 0,
      });
      while (b.pendingChecks > 0) await new Promise((r) => setImmediate(r));
      expect(decodeCallFrame(port.sentTo.get(99)![0]!).kind).toBe(Kind.ANSWER);
      // Same bytes for all: nothing at all.
      for (const id of ids) expect(port.sentTo.get(id) ?? []).toEqual([]);
      // Same end for all: the timer armed when the tunnel arrived, whatever it carried.
      vi.advanceTimersByTime(3999);
      expect(port.destroyed.filter((id) => ids.includes(id))).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(port.destroyed.filter((id) => ids.includes(id)).sort()).toEqual(ids);
    } finally {
      vi.useRealTimers();
    }
  });

  it("40 junk tunnels (and more while it rings) do not keep a friend's call from ringing", async () => {
    const net = new FakeOnion();
    const a = manager(net, alice, [bob]);
    const b = manager(net, bob, [alice]);
    const mallory = net.port(carol);
    await Promise.all(Array.from({ length: 40 }, () => mallory.build({ spki: bob.spkiDer })));
    expect((b as unknown as { tunnels: Map<number, unknown> }).tunnels.size).toBe(32);
    const incoming = nextCall(b);
    // Mallory keeps opening empty tunnels, one every 5 ms, all through the call's set-up.
    const junk = setInterval(() => void mallory.build({ spki: bob.spkiDer }), 5);
    try {
      const out = await a.call({ spki: bob.spkiDer, host: '127.0.0.1', port: 1 });
      const inc = await incoming;
      await reach(out, 'ringing');
      expect(inc.peerId).toBe(toHex(alice.identity));
    } finally {
      clearInterval(junk);
    }
    expect((b as unknown as { tunnels: Map<number, unknown> }).tunnels.size).toBeLessThanOrEqual(32);
  });

  it('a replayed offer is answered but never rings', async () => {
    // Alice calls bob; mallory records her OFFER and CALLER_KEY on the way.
    const net = new FakeOnion();
    const a = manager(net, alice, [bob]);
    const b = manager(net, bob, [alice]);
    const { out } = await callAndAnswer(net, a, b, bob);
    out.hangup();
    const recorded = [...portOf.get(a)!.sentTo.values()]
      .flat()
      .filter((f) => [Kind.OFFER, Kind.CALLER_KEY].includes(decodeCallFrame(f).kind as 1 | 5))
      .slice(0, 2);
    expect(recorded.map((f) => decodeCallFrame(f).kind).sort()).toEqual([Kind.OFFER, Kind.CALLER_KEY]);
    // Later (bob reloaded his page: no memory of that call id) mallory replays them.
    const net2 = new FakeOnion();
    const b2 = manager(net2, bob, [alice]);
    let rang = false;
    b2.onCall(() => {
      rang = true;
    });
    const mallory = net2.port(carol);
    const t = await mallory.build({ spki: bob.spkiDer });
    const replay = setInterval(() => {
      for (const f of recorded) mallory.send(t, f);
    }, 20);
    try {
      const bobPort = portOf.get(b2)!;
      // Bob verifies and answers (the signature is alice's)...
      await vi.waitFor(() => expect(bobPort.sent).toBeGreaterThan(0), { timeout: 5000 });
      // ...but mallory can't open the answer, so no key confirmation comes, and the tunnel goes.
      await vi.waitFor(() => expect(bobPort.destroyed.length).toBe(1), { timeout: 8000 });
      expect(rang).toBe(false);
    } finally {
      clearInterval(replay);
    }
  });
});

describe('keepalive', () => {
  it('no PING while media flows (the call sends at the media rate only); liveness still detected', async () => {
    const net = new FakeOnion();
    const timings = { ...FAST, keepaliveMs: 50, idleTimeoutMs: 400 };
    const a = manager(net, alice, [bob], false, timings);
    const b = manager(net, bob, [alice], false, timings);
    const { out, inc } = await callAndAnswer(net, a, b, bob);
    inc.accept();
    await reach(out, 'connected');
    const [pa, pb] = [portOf.get(a)!, portOf.get(b)!];
    let aliceTalks = true;
    let mediaA = 0;
    const media = new TextEncoder().encode('m');
    const pump = setInterval(() => {
      if (aliceTalks && out.sendMedia(media)) mediaA++;
      inc.sendMedia(media);
    }, 10);
    try {
      // Let the set-up's control messages and their ACKs settle, then count packets against media.
      await new Promise((r) => setTimeout(r, 200));
      const [sentA, sentB, media0] = [pa.sent, pb.sent, mediaA];
      await new Promise((r) => setTimeout(r, 600)); // longer than idleTimeoutMs: media alone keeps it up
      expect([out.state, inc.state]).toEqual(['connected', 'connected']);
      // Every packet alice sent in the window was media (a PING every 50 ms would add ~12).
      expect(pa.sent - sentA).toBeLessThanOrEqual(mediaA - media0 + 2); // + a late ACK at most
      expect(pb.sent - sentB).toBeGreaterThan(0);

      // Alice goes quiet: her PINGs come back and keep bob's liveness check satisfied.
      aliceTalks = false;
      const quiet = pa.sent;
      await new Promise((r) => setTimeout(r, 600));
      expect(pa.sent - quiet).toBeGreaterThanOrEqual(3);
      expect([out.state, inc.state]).toEqual(['connected', 'connected']);

      // The tunnel goes dead: both sides notice within the idle timeout.
      net.chaos = { loss: 1, dup: 0, maxDelayMs: 0 };
      await Promise.all([reach(out, 'ended', 5000), reach(inc, 'ended', 5000)]);
      expect([out.endReason, inc.endReason]).toEqual(['failed', 'failed']);
    } finally {
      clearInterval(pump);
    }
  });
});
