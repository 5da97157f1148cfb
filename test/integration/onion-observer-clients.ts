// The two clients of the link-observer test (issue 15), at the Onion API: the client's own pacing
// code (client/src/lib/pacing/pacer.ts CoverSender and timer ticker; the pre-issue-15 client's
// buildDelay, copied here) run in Node, with the call's messages as the client sends them
// today. Not Chromium: two pages with real audio cost a core of this shared 2-core box and their
// audio clocks would stall under its load; what the links see is decided by when ONION COVER, BUILD
// and DATA reach the relay, and these come from the client's own pacer here.
//
// The call, as today's client makes it (client/src/lib/calls/*.ts):
//   caller: BUILD `buildDelay` before the next boundary (COVER held while it is pending, spec 4.6.7),
//           then OFFER and CALLER_KEY at once (~310 B each: 2 cells each), then one packet per slot
//           (media or filler through the tunnel: CoverSender's `fill`), HANGUP + DESTROY at the end;
//   callee: its slots move to the incoming tunnel as soon as it exists (cover stops), ANSWER and
//           RINGING at once on the offer, ACCEPT 1.5 s later, DESTROY on the HANGUP.
// `shape` turns on what the client side of issue 15 (branch wt-pace) is to do: BUILD at once
// (with the relays' build_in_slot), the callee's own cover kept running through the call (the
// call paced as a stream of its own from the answer on), and signalling paced one message per slot.
import type { ApiClient } from '../../relay/api/client.ts';
import { MessageType } from '../../shared/wire/types.ts';
import { CALL_DATA_SIZE, CoverSender } from '../../client/src/lib/pacing/pacer.ts';

/** The client before issue 15 asked for the call's tunnel this long before the next boundary. */
function buildDelay(now: number, roundMs: number): number {
  const lead = Math.min(2000, roundMs / 4);
  return Math.max(0, roundMs - (now % roundMs) - lead);
}

export interface ClientShape {
  /** BUILD at once (else `buildDelay` before the boundary, as today). */
  buildAtOnce: boolean;
  /** The callee keeps its own cover going through the call (else its slots move to the call). */
  calleeCover: boolean;
  /** Signalling one message per slot through the pacer (else each message at once). */
  pacedSignalling: boolean;
}

/** The client before issue 15's client side (for comparison: ONION_OBSERVER_SHAPE=old). */
export const OLD: ClientShape = { buildAtOnce: false, calleeCover: false, pacedSignalling: false };
/** Today's client: BUILD at once with build_in_slot, callee's cover through the call; signalling not paced. */
export const NOW: ClientShape = { buildAtOnce: true, calleeCover: true, pacedSignalling: false };
/** All of issue 15's client side (ONION_OBSERVER_SHAPE=issue15). */
export const ISSUE_15: ClientShape = { buildAtOnce: true, calleeCover: true, pacedSignalling: true };

// First data byte of a test message: what the peer must react to (the real frames are sealed).
const FILLER = 0;
const OFFER = 1;
const HANGUP = 0xee;
const OFFER_BYTES = 310; // OFFER / CALLER_KEY / ANSWER: header, ephemeral key, RSA-2048 signature or SPKI
const SMALL_BYTES = 2 + 8 + 8 + 1 + 16 + 4; // a sealed RINGING / ACCEPT / HANGUP

/** One party: its API connection, its pacer(s), and the call's tunnel while there is one. */
export class Party {
  tunnel: number | undefined;
  private building = false;
  private spentCells = 0;
  private readonly queue: Uint8Array[] = [];
  private readonly sender: CoverSender;
  /** The callee's call pacer when its own cover keeps running (shape.calleeCover). */
  private media: CoverSender | undefined;
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    readonly conn: ApiClient,
    private readonly shape: ClientShape,
    roundMs: number,
  ) {
    this.done = new Promise((r) => {
      this.resolveDone = r;
    });
    this.sender = new CoverSender({
      sendCover: (n) => this.conn.send({ type: MessageType.ONION_COVER, coverSize: n }),
      // Today COVER waits while a BUILD is pending; with build_in_slot it goes on until READY,
      // except in the last 150 ms before the boundary READY comes at: the relay closes an API
      // connection that sends COVER while it holds a READY tunnel, and a COVER in flight when
      // READY leaves would be one (relay/onion/service.ts; the client side must solve this too).
      // The relay refuses COVER only while a READY tunnel of this connection is held: a callee's
      // incoming tunnel does not stop its cover (what today's client does, BridgeOnionPort.coverAllowed).
      // An incoming call, with the callee's cover kept, is a stream of its own from the answer on
      // (client/src/lib/pacing/streams.ts): before it (INCOMING comes at the build, mid-round) this
      // test's callee stopped its cover and filled the incoming tunnel, which moved its stream to
      // the caller's last hop's link mid-round: an extra active link in the start round.
      allowed: () =>
        !this.ownCarriesTunnel() &&
        (shape.buildAtOnce ? !this.building || roundMs - (Date.now() % roundMs) > 150 : !this.building),
      fill: () => this.ownCarriesTunnel() && this.fill(),
      // The call's cells pay the slots of the stream that carries the call.
      spent: () => (this.ownCarriesTunnel() ? this.takeSpent() : 0),
    });
    this.sender.start();
  }

  /** The own stream carries the call: a call we placed, or (old client) any incoming one. */
  private ownCarriesTunnel(): boolean {
    return this.tunnel !== undefined && !(this.incoming && this.shape.calleeCover);
  }

  private takeSpent(): number {
    const n = this.spentCells;
    this.spentCells = 0;
    return n;
  }

  stop(): void {
    this.sender.stop();
    this.media?.stop();
  }

  private fill(): boolean {
    if (this.tunnel === undefined) return false;
    const next = this.queue.shift();
    const data = next ?? new Uint8Array(CALL_DATA_SIZE).fill(FILLER);
    this.conn.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: this.tunnel, data });
    if (next) this.spentCells += Math.ceil(next.length / 195) - 1; // cells beyond this slot's one
    return true;
  }

  /** Signalling: at once (today) or one message per slot (paced). */
  private signal(kind: number, bytes: number): void {
    const m = new Uint8Array(bytes).fill(kind);
    if (this.shape.pacedSignalling) {
      this.queue.push(m);
      return;
    }
    this.conn.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: this.tunnel!, data: m });
    this.spentCells += Math.ceil(bytes / 195);
  }

  /** Caller: build (when today's client would), then offer; resolves with the tunnel's id. */
  async call(build: { type: 560; address: string; port: number; hostkey: Uint8Array }, roundMs: number) {
    if (!this.shape.buildAtOnce) await sleep(buildDelay(Date.now(), roundMs));
    this.building = true;
    // A build that fails (ONION ERROR: a loaded box times builds out) is tried again, as a user would.
    let ready: { tunnelId: number } | undefined;
    for (let tries = 0; !ready && tries < 3; tries++) {
      const err = this.conn.next(MessageType.ONION_ERROR, { timeoutMs: 2 * roundMs + 5000 });
      err.catch(() => {});
      const r = await Promise.race([
        this.conn.request(build, MessageType.ONION_TUNNEL_READY, 2 * roundMs + 5000),
        err.then(() => undefined),
      ]);
      if (!r) console.log(`BUILD answered ONION ERROR (try ${tries + 1})`);
      ready = r;
    }
    this.building = false;
    if (!ready) throw new Error('no tunnel after 3 BUILDs');
    this.tunnel = ready.tunnelId;
    this.signal(OFFER, OFFER_BYTES);
    this.signal(OFFER, OFFER_BYTES); // CALLER_KEY
    return ready.tunnelId;
  }

  /** Callee: answer the next incoming call as today's page does (the user accepts after 1.5 s). */
  answer(): void {
    const off = this.conn.onMessage((m) => {
      if (m.type === MessageType.ONION_TUNNEL_INCOMING && this.tunnel === undefined) {
        this.tunnel = m.tunnelId;
        this.incoming = true;
      } else if (m.type === MessageType.ONION_TUNNEL_DATA && m.tunnelId === this.tunnel) {
        if (m.data[0] === OFFER && !this.answered) {
          this.answered = true;
          // The client paces an incoming call from its answer on (client/src/lib/pacing/streams.ts),
          // not from INCOMING: that comes at the build, mid-round, before the caller's READY. Started
          // at INCOMING (as this test did), the callee's stream to the caller's last hop began 1.5 s
          // before the boundary, an extra active link in the start round.
          if (this.shape.calleeCover) {
            this.media = new CoverSender({
              sendCover: () => {},
              fill: () => this.fill(),
              spent: () => this.takeSpent(),
            });
            this.media.start();
          }
          this.signal(OFFER, OFFER_BYTES); // ANSWER
          this.signal(OFFER, SMALL_BYTES); // RINGING
          setTimeout(() => this.tunnel !== undefined && this.signal(OFFER, SMALL_BYTES), 1500); // ACCEPT
        } else if (m.data[0] === HANGUP) {
          off();
          this.conn.send({ type: MessageType.ONION_TUNNEL_DESTROY, tunnelId: this.tunnel });
          this.endCall();
        }
      }
    });
  }
  private answered = false;
  /** The tunnel is one we were called on. */
  private incoming = false;

  /** Caller: HANGUP through the tunnel, then DESTROY. */
  hangup(): void {
    const t = this.tunnel!;
    this.conn.send({
      type: MessageType.ONION_TUNNEL_DATA,
      tunnelId: t,
      data: new Uint8Array(SMALL_BYTES).fill(HANGUP),
    });
    this.conn.send({ type: MessageType.ONION_TUNNEL_DESTROY, tunnelId: t });
    this.spentCells++;
    this.endCall();
  }

  /** Callee: end the call if the HANGUP was lost (a loaded relay drops stale cells), as a page times out. */
  giveUp(): void {
    if (this.tunnel === undefined) return;
    this.conn.send({ type: MessageType.ONION_TUNNEL_DESTROY, tunnelId: this.tunnel });
    this.endCall();
  }

  private endCall(): void {
    this.tunnel = undefined;
    this.incoming = false;
    this.media?.stop();
    this.media = undefined;
    this.queue.length = 0;
    this.sender.kick(); // cover at once in the slot the call left
    this.resolveDone();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
