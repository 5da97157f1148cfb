// Issue 8: a peer in a call must look on the wire like an idle one. Two clients (real CallManager,
// CallSession, BridgeOnionPort, CallAudio with its CoverSender) over a model of two relays at the
// Onion API seam, on a fake clock. Each relay logs every cell its client makes it send (COVER,
// TUNNEL DATA cut in 195-byte cells) and every cell that comes back. Through every phase (idle, the
// BUILD held by the relay for the round's build slot, READY, ringing, accept, media, hang-up, linger,
// DESTROY, cover again) each stream keeps one cell per 20 ms: no 100 ms window without a cell, not
// even across READY, and every phase at 50 cells/s. The caller has one stream (cover, then its
// call's tunnel); the callee's cover stream runs on through the call, beside the call's own stream
// from its answer until its tunnel is gone (issue 15: the callee's links keep their shape).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { signFor } from '../../relay/bridge/sign.ts';
import { type Hostkey, loadHostkey } from '../../relay/hostkey.ts';
import type { ApiMessage } from '../../shared/wire/types.ts';
import { toHex } from '../../shared/identity.ts';
import { BridgeOnionPort } from '../../client/src/lib/api/onion-port.ts';
import { CallAudio } from '../../client/src/lib/audio/call-audio.ts';
import { timerTicker } from '../../client/src/lib/pacing/pacer.ts';
import type { BridgeConnection } from '../../client/src/lib/bridge/connection.ts';
import { CallManager } from '../../client/src/lib/calls/manager.ts';
import type { CallSession, CallState } from '../../client/src/lib/calls/session.ts';
import { onionCells } from '../../client/src/lib/calls/wire.ts';
import { getKeys } from '../keypool.ts';

const [aliceKey, bobKey] = (await Promise.all((await getKeys(2)).map(loadHostkey))) as [Hostkey, Hostkey];
const LINK_MS = 15; // one way, client's relay to the peer's
/** BUILD to READY: the relay holds a BUILD for its round's build slot, READY at the boundary. */
const BUILD_MS = 1500;

/** `cover`: ONION COVER (or its echo), else TUNNEL DATA. */
type Cell = { t: number; n: number; cover?: boolean };

/** One client's relay, as its Onion API behaves for that client, joined to the peer's relay. */
class RelayModel {
  readonly out: Cell[] = [];
  readonly in: Cell[] = [];
  readonly ready = new Set<number>();
  violations = 0;
  buildAt = 0;
  readyAt = 0;
  destroyAt = 0;
  peer!: RelayModel;
  private nextId = 1;
  /** Our READY tunnel id -> its INCOMING id at the peer, and back. */
  private readonly toPeer = new Map<number, number>();
  private readonly incoming = new Map<number, number>();
  private readonly cbs = new Set<(m: ApiMessage) => void>();
  readonly conn = {
    status: 'open',
    onMessage: (cb: (m: ApiMessage) => void) => {
      this.cbs.add(cb);
      return () => this.cbs.delete(cb);
    },
    send: (m: ApiMessage) => {
      this.handle(m);
      return true;
    },
  } as unknown as BridgeConnection;

  private handle(m: ApiMessage): void {
    const t = Date.now();
    if (m.type === 566) {
      if (this.ready.size > 0) this.violations++;
      this.out.push({ t, n: 1, cover: true });
      setTimeout(() => this.in.push({ t: Date.now(), n: 1, cover: true }), 4 * LINK_MS); // the cover echo
    } else if (m.type === 560) {
      this.buildAt = t;
      setTimeout(() => {
        const id = this.nextId++;
        const rid = this.peer.nextId++;
        this.ready.add(id);
        this.toPeer.set(id, rid);
        this.peer.incoming.set(rid, id);
        this.readyAt = Date.now();
        this.emit({ type: 561, tunnelId: id, hostkey: m.hostkey });
        this.peer.emit({ type: 562, tunnelId: rid });
      }, BUILD_MS);
    } else if (m.type === 563) {
      this.destroyAt = t;
      if (this.ready.delete(m.tunnelId)) this.peer.incoming.delete(this.toPeer.get(m.tunnelId)!);
      this.incoming.delete(m.tunnelId);
    } else if (m.type === 564) {
      const n = onionCells(m.data.length);
      this.out.push({ t, n });
      const to = this.ready.has(m.tunnelId) ? this.toPeer.get(m.tunnelId) : this.incoming.get(m.tunnelId);
      if (to === undefined) this.emit({ type: 565, requestType: 564, tunnelId: m.tunnelId });
      else setTimeout(() => this.peer.deliver(to, m.data, n), LINK_MS);
    }
  }

  private deliver(id: number, data: Uint8Array, n: number): void {
    if (!this.ready.has(id) && !this.incoming.has(id)) return;
    this.in.push({ t: Date.now(), n });
    this.emit({ type: 564, tunnelId: id, data });
  }

  emit(m: ApiMessage): void {
    for (const cb of [...this.cbs]) cb(m);
  }
}

const stops: (() => void)[] = [];
afterEach(() => {
  for (const s of stops.splice(0)) s();
  vi.useRealTimers();
});

function client(key: Hostkey, relay: RelayModel, friend: Hostkey, mediaAfterMs: number) {
  const port = new BridgeOnionPort(relay.conn, () => 10_000);
  const calls = new CallManager({
    onion: port,
    sign: async (d) => signFor(key, 'call', d),
    ownSpki: key.spkiDer,
    contactKey: (id) => (id === toHex(friend.identity) ? friend.spkiDer : undefined),
    allowUnknownCallers: () => false,
  });
  const audio = new CallAudio({
    onCall: (cb) => calls.onSession(cb as (s: CallSession) => void) as () => void,
    sendCover: (coverSize) => relay.conn.send({ type: 566, coverSize }),
    coverAllowed: () => port.coverAllowed(),
    cover: { ticker: timerTicker, now: () => Date.now() },
  });
  // What a VoiceSession does once its audio has started: a payload every 20 ms (no audio devices
  // in Node, so CallAudio's own session does not start; this stands in for it).
  calls.onCall((s) =>
    s.onState((st) => {
      if (st !== 'connected') return;
      setTimeout(() => {
        const timer = setInterval(() => s.sendMedia(new Uint8Array(80)) || clearInterval(timer), 20);
      }, mediaAfterMs);
    }),
  );
  stops.push(
    () => audio.stop(),
    () => calls.stop(),
    () => port.stop(),
  );
  return { port, calls, audio };
}

/** Fake milliseconds per real millisecond (the test's ~14 fake seconds take ~3.5 real ones). */
const SPEED = 4;

/**
 * Advances the fake clock in step with the real one, SPEED times faster, in steps of at most 5 ms,
 * letting real async work (WebCrypto, RSA on the thread pool) run in between. Real work then costs
 * fake time in proportion to what it costs in real time, as in a browser, whatever the machine's
 * load. (A fixed 5 ms per turn made a slow signature verification under load last half a fake second:
 * the callee's filler started late and the ringing phase looked quieter than it is.)
 */
async function run(ms: number, until?: () => boolean): Promise<void> {
  let last = performance.now();
  let owed = 0;
  for (let t = 0; t < ms && !until?.(); ) {
    await new Promise((r) => setImmediate(r));
    const now = performance.now();
    owed += (now - last) * SPEED;
    last = now;
    const step = Math.min(5, Math.floor(owed), ms - t);
    if (step < 1) continue;
    owed -= step;
    t += step;
    await vi.advanceTimersByTimeAsync(step);
  }
}

async function reach(s: CallSession, state: CallState): Promise<void> {
  await run(10_000, () => s.state === state);
  expect(s.state).toBe(state);
}

function cellsIn(cells: Cell[], from: number, to: number): number {
  return cells.filter((c) => c.t >= from && c.t < to).reduce((a, c) => a + c.n, 0);
}

/** The longest time without a cell in [from, to), and where it began. */
function longestGap(cells: Cell[], from: number, to: number): { ms: number; at: number } {
  const ts = [from, ...cells.map((c) => c.t).filter((t) => t >= from && t < to), to];
  let gap = { ms: 0, at: from };
  for (let i = 1; i < ts.length; i++)
    if (ts[i]! - ts[i - 1]! > gap.ms) gap = { ms: ts[i]! - ts[i - 1]!, at: ts[i - 1]! };
  return gap;
}

describe('a peer in a call looks like an idle one (one cell per 20 ms in every phase)', () => {
  it('caller and callee, from idle through a call and back to cover', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const [ra, rb] = [new RelayModel(), new RelayModel()];
    ra.peer = rb;
    rb.peer = ra;
    const alice = client(aliceKey, ra, bobKey, 230);
    const bob = client(bobKey, rb, aliceKey, 170);
    const mark: Record<string, number> = { start: Date.now() };
    await run(2000);
    mark.click = Date.now();
    const placing = alice.calls.call({ spki: bobKey.spkiDer, host: '127.0.0.1', port: 7000 });
    await run(10_000, () => ra.readyAt > 0);
    const call = await placing;
    await reach(call, 'ringing');
    mark.ringing = Date.now();
    await run(2000);
    mark.accept = Date.now();
    bob.calls.current!.accept();
    await reach(call, 'connected');
    await run(3000);
    mark.hangup = Date.now();
    call.hangup();
    await run(5000, () => ra.destroyAt > 0);
    mark.destroy = ra.destroyAt;
    await run(2000);
    mark.end = Date.now();

    expect(ra.violations + rb.violations).toBe(0);
    expect(ra.destroyAt).toBeGreaterThan(0);
    const [build, ready] = [ra.buildAt, ra.readyAt];
    const phases: [string, number, number][] = [
      ['idle', mark.start! + 100, mark.click!],
      ['BUILD held for the slot', build, ready],
      ['READY, offer, ringing', ready, mark.accept!],
      ['accept, media', mark.accept!, mark.hangup!],
      ['hang-up until DESTROY', mark.hangup!, mark.destroy!],
      ['cover again', mark.destroy!, mark.end!],
    ];
    const rate = (cells: Cell[], a: number, b: number) => (cellsIn(cells, a, b) * 1000) / (b - a);
    const cover = (cells: Cell[]) => cells.filter((c) => c.cover);
    const tunnel = (cells: Cell[]) => cells.filter((c) => !c.cover);
    for (const [name, a, b] of phases) {
      const f = (r: RelayModel) => `${rate(r.out, a, b).toFixed(1)} out + ${rate(r.in, a, b).toFixed(1)} in`;
      const g = (c: Cell[]) => rate(c, a, b).toFixed(1);
      console.log(
        `${name} (${b - a} ms): alice ${f(ra)}, bob ${f(rb)} cells/s; bob's cover ${g(cover(rb.out))} out + ${g(cover(rb.in))} in, his call ${g(tunnel(rb.out))} out`,
      );
      expect(Math.abs(rate(ra.out, a, b) - 50)).toBeLessThan(2.5);
      expect(Math.abs(rate(cover(rb.out), a, b) - 50)).toBeLessThan(2.5);
    }
    // The callee's call stream, from its answer until its tunnel is gone.
    for (const [, a, b] of [phases[3]!, phases[4]!])
      expect(Math.abs(rate(tunnel(rb.out), a, b) - 50)).toBeLessThan(2.5);
    expect(cellsIn(tunnel(rb.out), mark.destroy! + 100, mark.end!)).toBe(0);
    // In and out together, as a link observer counts them, in the long phases: alice's one
    // circuit, bob's cover circuit and (in the call) the caller's circuit ending at bob's relay.
    for (const [, a, b] of [phases[0]!, phases[2]!, phases[3]!, phases[5]!]) {
      expect(Math.abs(rate([...ra.out, ...ra.in], a, b) - 100)).toBeLessThan(6);
      expect(Math.abs(rate([...cover(rb.out), ...cover(rb.in)], a, b) - 100)).toBeLessThan(6);
    }
    for (const [, a, b] of [phases[3]!])
      expect(Math.abs(rate([...tunnel(rb.out), ...tunnel(rb.in)], a, b) - 100)).toBeLessThan(6);

    // No silence, not even across the BUILD: cover runs until READY, the tunnel's cells from then.
    const [from, to] = [mark.start! + 100, mark.end!];
    const pre = longestGap(ra.out, from, build);
    const post = longestGap(ra.out, ready, to);
    const callee = longestGap(cover(rb.out), from, to);
    const across = longestGap(ra.out, build - 40, ready + 40);
    console.log(
      `longest gaps: alice ${pre.ms} ms before the BUILD, ${post.ms} ms after READY, ${across.ms} ms from the BUILD to just after READY (BUILD->READY ${BUILD_MS} ms); bob ${callee.ms} ms`,
    );
    // 80 ms is the design's longest (a 4-cell frame pays back 3 slots); one slot more allows for a
    // timer 5 ms late in real time, which the 4x fake clock stretches to 20 ms (seen once in a full
    // suite run: 100 ms; alone 77-80 ms). Multi-cell signalling frames still leave these gaps: issue 15.
    for (const g of [pre, post, callee]) expect(g.ms).toBeLessThanOrEqual(100);
    expect(across.ms).toBeLessThanOrEqual(100);
    // Cover is back within a slot or two of the DESTROY.
    const firstAfter = ra.out.find((c) => c.t >= mark.destroy!)!;
    expect(firstAfter.t - mark.destroy!).toBeLessThanOrEqual(40);
  }, 60_000);
});
