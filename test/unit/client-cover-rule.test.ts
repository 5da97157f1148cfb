// ONION COVER is illegal while Onion has answered READY for a tunnel of ours (spec 4.6.7; our relay
// closes the API connection for it). BridgeOnionPort.coverAllowed() must hold cover back from the
// moment a BUILD is sent until that tunnel is destroyed, also for a BUILD we stopped waiting for,
// and must not hold it back for INCOMING tunnels. The relay end is a model of the Onion API at the
// spec seam: it handles messages in order, as the relay does, and answers BUILD asynchronously.
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiMessage } from '../../shared/wire/types.ts';
import { signFor } from '../../relay/bridge/sign.ts';
import { type Hostkey, loadHostkey } from '../../relay/hostkey.ts';
import { BridgeOnionPort } from '../../client/src/lib/api/onion-port.ts';
import { CallAudio, type MediaCall } from '../../client/src/lib/audio/call-audio.ts';
import { CALL_DATA_SIZE, timerTicker } from '../../client/src/lib/pacing/pacer.ts';
import { encodePayload } from '../../client/src/lib/audio/payload.ts';
import type { BridgeConnection } from '../../client/src/lib/bridge/connection.ts';
import { FrameCipher } from '../../client/src/lib/calls/frames.ts';
import { deriveKeys, newEphemeral } from '../../client/src/lib/calls/handshake.ts';
import { CallManager } from '../../client/src/lib/calls/manager.ts';
import type { CallSession, CallState } from '../../client/src/lib/calls/session.ts';
import { encodeInner, Msg } from '../../client/src/lib/calls/wire.ts';
import { getKeys } from '../keypool.ts';

const [alice, bob] = (await Promise.all((await getKeys(2)).map(loadHostkey))) as [Hostkey, Hostkey];

/** The Onion API as the relay enforces it, for one client connection. */
class OnionModel {
  private readonly cbs = new Set<(m: ApiMessage) => void>();
  readonly ready = new Set<number>();
  private nextId = 100;
  covers = 0;
  violations = 0;
  builds: { address: string; hostkey: Uint8Array }[] = [];
  /** How the model answers the next BUILD; 'hold' keeps it for `answer()`. */
  mode: 'ready' | 'error' | 'hold' = 'ready';
  held: (() => void)[] = [];
  buildDelayMs = 20;

  readonly conn = {
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
    if (m.type === 566) {
      if (this.ready.size > 0) this.violations++;
      else this.covers++;
    } else if (m.type === 563) {
      this.ready.delete(m.tunnelId);
    } else if (m.type === 560) {
      this.builds.push({ address: m.address, hostkey: m.hostkey });
      const answer =
        this.mode === 'error'
          ? () => this.emit({ type: 565, requestType: 560, tunnelId: 0 })
          : () => this.readyFor(m.hostkey);
      if (this.mode === 'hold') this.held.push(answer);
      else setTimeout(answer, this.buildDelayMs);
    }
  }

  readyFor(hostkey: Uint8Array): number {
    const id = this.nextId++;
    this.ready.add(id);
    this.emit({ type: 561, tunnelId: id, hostkey });
    return id;
  }

  emit(m: ApiMessage): void {
    for (const cb of [...this.cbs]) cb(m);
  }
}

const dest = (k: Hostkey) => ({ host: '127.0.0.1', port: 7000, spki: k.spkiDer });
const stops: (() => void)[] = [];
afterEach(() => {
  for (const s of stops.splice(0)) s();
});

function port(model: OnionModel, buildTimeoutMs = 5000): BridgeOnionPort {
  const p = new BridgeOnionPort(model.conn, () => buildTimeoutMs);
  stops.push(() => p.stop());
  return p;
}

describe('BridgeOnionPort.coverAllowed', () => {
  it('stays true while a BUILD waits, is false from READY until that tunnel is destroyed', async () => {
    const model = new OnionModel();
    const p = port(model);
    expect(p.coverAllowed()).toBe(true);
    const built = p.build(dest(bob));
    await Promise.resolve(); // the BUILD queue runs on a microtask
    expect(model.builds).toHaveLength(1);
    // BUILD sent: with build_in_slot its READY may take a round, and cover must go on meanwhile.
    expect(p.coverAllowed()).toBe(true);
    const id = await built;
    expect(model.ready.has(id)).toBe(true);
    expect(p.coverAllowed()).toBe(false);
    p.destroy(id);
    expect(model.ready.size).toBe(0);
    expect(p.coverAllowed()).toBe(true);
  });

  it('a failed BUILD lets cover go on', async () => {
    const model = new OnionModel();
    model.mode = 'error';
    const p = port(model);
    await expect(p.build(dest(bob))).rejects.toThrow(/could not build/);
    expect(p.coverAllowed()).toBe(true);
  });

  it('a BUILD answered after its timeout: that tunnel is given back, cover goes on', async () => {
    const model = new OnionModel();
    model.mode = 'hold';
    const p = port(model, 30);
    await expect(p.build(dest(bob))).rejects.toThrow(/not built in time/);
    expect(p.coverAllowed()).toBe(true);
    model.held.shift()!();
    expect(model.ready.size).toBe(0); // nobody waited for it: destroyed at once
    expect(p.coverAllowed()).toBe(true);
  });

  it('a READY for another destination is not taken for ours', async () => {
    const model = new OnionModel();
    model.mode = 'hold';
    const p = port(model);
    const built = p.build(dest(bob));
    await Promise.resolve();
    model.readyFor(alice.spkiDer); // not what we asked for
    expect(model.ready.size).toBe(0);
    expect(p.coverAllowed()).toBe(true); // given back at once: no READY tunnel of ours is held
    model.held.shift()!();
    const id = await built;
    expect(model.ready.has(id)).toBe(true);
    expect(p.coverAllowed()).toBe(false);
  });

  it('INCOMING tunnels do not forbid cover', () => {
    const model = new OnionModel();
    const p = port(model);
    model.emit({ type: 562, tunnelId: 9 });
    expect(p.tunnels.get(9)).toBe('incoming');
    expect(p.coverAllowed()).toBe(true);
  });
});

function reach(s: CallSession, state: CallState, timeoutMs = 8000): Promise<void> {
  if (s.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still ${s.state}, wanted ${state}`)), timeoutMs);
    s.onState((now) => {
      if (now !== state) return;
      clearTimeout(timer);
      resolve();
    });
  });
}

describe('cover around a call attempt (CallAudio + CallManager over the port)', () => {
  it('cover runs while the BUILD waits, never while READY, and resumes after DESTROY', async () => {
    const model = new OnionModel();
    model.mode = 'hold'; // the relay holds the BUILD for the round's build slot (build_in_slot)
    const p = port(model);
    const calls = new CallManager({
      onion: p,
      sign: async (d) => signFor(alice, 'call', d),
      ownSpki: alice.spkiDer,
      contactKey: () => undefined,
      allowUnknownCallers: () => false,
      timings: { retransmitMs: 20, maxTries: 1000, lingerMs: 50 },
    });
    stops.push(() => calls.stop());
    const audio = new CallAudio({
      onCall: (cb) => calls.onSession(cb as (s: CallSession) => void) as () => void,
      sendCover: (n) => model.conn.send({ type: 566, coverSize: n }),
      coverAllowed: () => p.coverAllowed(),
      cover: { ticker: timerTicker, intervalMs: 2 },
    });
    stops.push(() => audio.stop());
    await expect.poll(() => model.covers, { timeout: 5000 }).toBeGreaterThan(5);

    const session = await calls.call({ spki: bob.spkiDer, host: '127.0.0.1', port: 7000 });
    // The BUILD goes at once; the caller keeps cover up while the relay holds it (the moment of the
    // click stays hidden, and there is no hole before READY): only READY stops it.
    await expect.poll(() => model.held.length, { timeout: 5000 }).toBe(1);
    const atBuild = model.covers;
    await expect.poll(() => model.covers, { timeout: 5000 }).toBeGreaterThan(atBuild + 5);
    model.held.shift()!();
    await expect.poll(() => model.ready.size, { timeout: 5000 }).toBe(1);
    const atReady = model.covers;
    await new Promise((r) => setTimeout(r, 100)); // the offer is resent; nobody answers
    expect(model.covers).toBe(atReady);
    session.hangup();
    await reach(session, 'ended');
    await expect.poll(() => model.ready.size, { timeout: 5000 }).toBe(0);
    await expect.poll(() => model.covers, { timeout: 5000 }).toBeGreaterThan(atReady + 5);
    expect(model.violations).toBe(0);
  });

  it('a callee keeps its cover while it rings (INCOMING is no READY) and through the voice', () => {
    let state = 'incoming';
    const stateCbs = new Set<(s: string) => void>();
    const call: MediaCall = {
      get state() {
        return state;
      },
      onState: (cb) => {
        stateCbs.add(cb);
        return () => stateCbs.delete(cb);
      },
      onMedia: () => () => {},
      sendMedia: () => true,
    };
    let announce: ((c: MediaCall) => void) | undefined;
    let covers = 0;
    let tick: (() => void) | undefined;
    let t = 0;
    const audio = new CallAudio({
      onCall: (cb) => {
        announce = cb;
        return () => {};
      },
      sendCover: () => covers++,
      coverAllowed: () => true,
      cover: {
        ticker: (cb) => {
          tick = cb;
          return () => {};
        },
        now: () => t,
      },
    });
    stops.push(() => audio.stop());
    const run = (ms: number) => {
      for (const end = t + ms; t < end; t += 10) tick!();
    };
    run(200);
    expect(covers).toBeGreaterThan(5);
    announce!(call);
    const ringing = covers;
    run(200);
    expect(covers).toBeGreaterThan(ringing + 5);
    // Connected: the voice session starts (no audio devices in Node: it fails to) and the callee's
    // own cover goes on beside the call's stream (issue 15: its links keep the shape they had).
    state = 'connected';
    for (const cb of stateCbs) cb(state);
    const connected = covers;
    run(200);
    expect(covers).toBeGreaterThan(connected + 5);
    state = 'ended';
    for (const cb of stateCbs) cb(state);
    const ended = covers;
    run(200);
    expect(covers).toBeGreaterThan(ended + 5);
  });
});

describe('cover looks like a call', () => {
  it('the cover size is the size of a sealed media frame on the tunnel', () => {
    const c = newEphemeral();
    const e = newEphemeral();
    const offer = {
      callId: new Uint8Array(8),
      timestamp: 1,
      callerEph: c.public,
      callerIdentity: alice.identity,
      calleeIdentity: bob.identity,
    };
    const cipher = new FrameCipher(deriveKeys('caller', c, e.public, offer, e.public), offer.callId);
    const payload = encodePayload({
      flags: 1,
      seq: 1,
      sentMs: 0,
      echoMs: 0xffff,
      holdMs: 0,
      opus: new Uint8Array(60),
    });
    const sealed = cipher.seal(encodeInner({ msg: Msg.MEDIA, payload }));
    expect(sealed.length).toBe(CALL_DATA_SIZE);
  });
});
