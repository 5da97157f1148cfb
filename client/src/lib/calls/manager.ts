// Calls on this client: places outgoing calls over a new onion tunnel, answers offers arriving on
// incoming tunnels (verifying who calls), keeps at most one live call (others get BUSY), and
// destroys tunnels that carry nothing useful. Transport-agnostic: see OnionPort.
// Against strangers (issue 14): an offer is first checked against the key it presents, and only a
// verified offer from a contact (or from anyone, if the user allows unknown callers) is answered.
// Everything else gets silence, and its tunnel is dropped by the same timer that drops an empty
// one, so a prober learns neither who the contacts are nor whether this client is open. A call
// rings only once the caller proved it holds the keys (session.ts), so a replayed offer never rings.
import { randomBytes } from '@noble/hashes/utils.js';
import { identityOf, toHex } from '../../../../shared/identity.ts';
import { UNCLAIMED_TUNNEL_MS } from '../../../../shared/onion-timing.ts';
import { bytesEqual } from '../crypto/bytes.ts';
import { verifyHostkeySignature } from '../crypto/rsa.ts';
import { type OfferFields, offerTranscript } from './handshake.ts';
import { type CallDeps, type CallSession as Session, CallSession, type CallTimings } from './session.ts';
import { type CallFrame, CALL_ID_BYTES, decodeCallFrame, Kind, type Offer } from './wire.ts';

/** What the manager needs from the Onion API (implemented over the bridge in api/onion-port.ts). */
export interface OnionPort {
  build(dest: { host: string; port: number; spki: Uint8Array }): Promise<number>;
  send(tunnelId: number, data: Uint8Array): void;
  destroy(tunnelId: number): void;
  onIncoming(cb: (tunnelId: number) => void): () => void;
  onData(cb: (tunnelId: number, data: Uint8Array) => void): () => void;
  /** Optional: the onion reports a tunnel broken (ONION ERROR naming it). */
  onTunnelError?(cb: (tunnelId: number) => void): () => void;
}

export interface CallManagerOptions {
  onion: OnionPort;
  sign: (data: Uint8Array) => Promise<Uint8Array>;
  ownSpki: Uint8Array;
  /** A contact's SPKI by identity hex, if the caller is a contact. */
  contactKey: (identityHex: string) => Uint8Array | undefined;
  allowUnknownCallers: () => boolean;
  timings?: Partial<CallTimings>;
  /** Incoming tunnels without a verified offer are destroyed this long after they arrived. */
  offerWaitMs?: number;
  /** An offer this much older or newer than our clock is ignored (replayed offers). */
  offerMaxAgeMs?: number;
  /** Clock for offer timestamps and their age check (the relay's, as the bridge checks it). */
  now?: () => number;
}

const MAX_TUNNELS = 32;
const MAX_SEEN_CALLS = 256;
/**
 * An incoming tunnel without a verified offer is dropped after the time a relay with no client
 * keeps an unclaimed tunnel (one shared constant): when a stranger's tunnel ends tells it nothing.
 */
export const OFFER_WAIT_MS = UNCLAIMED_TUNNEL_MS;

interface TunnelEntry {
  session?: Session;
  /** Our own tunnel (a call we place): never a place for offers. */
  outgoing?: boolean;
  offer?: Offer;
  callerKey?: Uint8Array;
  /** The offer is being verified: not evicted meanwhile (verification takes milliseconds). */
  handling?: boolean;
  /** The offer was checked and is not answered: the rest of this tunnel is ignored. */
  ignored?: boolean;
  /** The offer wait ran out while the offer was being checked: drop it then, unless it became a call. */
  expired?: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

export class CallManager {
  current: Session | null = null;
  private readonly ownIdentity: Uint8Array;
  private readonly tunnels = new Map<number, TunnelEntry>();
  private readonly seenCalls = new Set<string>();
  private readonly callCbs = new Set<(s: Session) => void>();
  private readonly sessionCbs = new Set<(s: Session) => void>();
  private readonly offs: (() => void)[];

  constructor(private readonly o: CallManagerOptions) {
    this.ownIdentity = identityOf(o.ownSpki);
    this.offs = [
      o.onion.onIncoming((id) => this.onIncoming(id)),
      o.onion.onData((id, d) => this.onData(id, d)),
    ];
    if (o.onion.onTunnelError) this.offs.push(o.onion.onTunnelError((id) => this.onTunnelError(id)));
  }

  /** Every new call, outgoing or ringing here (not the ones answered busy). */
  onCall(cb: (s: Session) => void): () => void {
    this.callCbs.add(cb);
    return () => this.callCbs.delete(cb);
  }

  /**
   * Every session as soon as it carries traffic: an outgoing call at once, an incoming one when it is
   * answered (before key confirmation, so before it rings), unless another call is live. For the
   * traffic shaping (CallAudio's filler): the tunnel's packet rate must not wait for the ring.
   */
  onSession(cb: (s: Session) => void): () => void {
    this.sessionCbs.add(cb);
    return () => this.sessionCbs.delete(cb);
  }

  get busy(): boolean {
    return this.current !== null && this.current.state !== 'ended';
  }

  async call(peer: { spki: Uint8Array; host: string; port: number }): Promise<Session> {
    if (this.busy) throw new Error('You are already in a call.');
    let tunnelId: number | null = null;
    let closed = false;
    // The tunnel can be READY before the session exists (signing the offer takes a round trip to
    // the bridge): its entry is made now and gets the session below.
    const entry: TunnelEntry = { outgoing: true };
    // One retry: right after start-up the onion may not know enough peers for a path yet.
    const build = () => (closed ? Promise.reject(new Error('cancelled')) : this.o.onion.build(peer));
    // Asked at once: the relay builds it in the round's build slot, where its cover circuit would
    // have been built, and answers READY at the boundary (build_in_slot, docs/onion-protocol.md
    // "Unobservability"). Meanwhile cover goes on (BridgeOnionPort.coverAllowed).
    const ready = build()
      .catch(() => new Promise<number>((r, j) => setTimeout(() => build().then(r, j), 1000)))
      .then((id) => {
        if (closed) {
          this.o.onion.destroy(id);
          throw new Error('cancelled');
        }
        tunnelId = id;
        this.tunnels.set(id, entry);
      });
    const deps = this.deps({
      ready,
      send: (b) => tunnelId !== null && this.o.onion.send(tunnelId, b),
      canSend: () => !closed && tunnelId !== null && this.tunnels.has(tunnelId),
      close: () => {
        closed = true;
        if (tunnelId !== null) this.drop(tunnelId);
      },
    });
    const session: Session = await CallSession.call(
      deps,
      { spki: peer.spki, identity: identityOf(peer.spki) },
      randomBytes(CALL_ID_BYTES),
    );
    entry.session = session;
    this.setCurrent(session);
    this.announce(session);
    return session;
  }

  stop(): void {
    for (const off of this.offs) off();
    this.current?.hangup();
    for (const id of [...this.tunnels.keys()]) this.drop(id);
  }

  private deps(transport: CallDeps['transport']): CallDeps {
    return {
      transport,
      sign: this.o.sign,
      ownIdentity: this.ownIdentity,
      ownSpki: this.o.ownSpki,
      timings: this.o.timings,
      now: this.o.now,
    };
  }

  private setCurrent(s: Session): void {
    this.current = s;
    for (const cb of [...this.callCbs]) cb(s);
  }

  private announce(s: Session): void {
    for (const cb of [...this.sessionCbs]) cb(s);
  }

  private onTunnelError(tunnelId: number): void {
    const entry = this.tunnels.get(tunnelId);
    if (!entry) return;
    entry.session?.tunnelLost();
    this.drop(tunnelId);
  }

  /** Offers being verified right now (for tests: zero once every verdict is in). */
  get pendingChecks(): number {
    let n = 0;
    for (const e of this.tunnels.values()) if (e.handling) n++;
    return n;
  }

  private onIncoming(tunnelId: number): void {
    if (this.tunnels.has(tunnelId)) return;
    if (this.tunnels.size >= MAX_TUNNELS && !this.evictOldestIdle()) {
      this.o.onion.destroy(tunnelId);
      return;
    }
    const entry: TunnelEntry = {};
    // Armed at arrival and never moved: whatever the tunnel brings (nothing, junk, a forged or a
    // stranger's offer), it goes at the same moment, so its end tells the sender nothing.
    entry.timer = setTimeout(() => {
      // An offer still being checked (and answered) at the deadline decides when it is done.
      if (entry.handling) entry.expired = true;
      else if (!entry.session) this.drop(tunnelId);
    }, this.o.offerWaitMs ?? OFFER_WAIT_MS);
    this.tunnels.set(tunnelId, entry);
  }

  /**
   * Under pressure the oldest tunnel without a call goes first (a Map iterates in arrival order):
   * dropping the newest instead let 32 junk tunnels keep every friend's new tunnel out. A tunnel
   * whose offer waits for its caller key (sent right after it) is spared while others can go.
   */
  private evictOldestIdle(): boolean {
    for (const spareHalfOffers of [true, false]) {
      for (const [id, e] of this.tunnels) {
        if (e.session || e.outgoing || e.handling || (spareHalfOffers && e.offer && !e.ignored)) continue;
        this.drop(id);
        return true;
      }
    }
    return false;
  }

  private onData(tunnelId: number, data: Uint8Array): void {
    const entry = this.tunnels.get(tunnelId);
    if (!entry || entry.ignored) return;
    let frame: CallFrame;
    try {
      frame = decodeCallFrame(data);
    } catch {
      return; // not ours (or damaged): dropped, the tunnel is best effort anyway
    }
    if (entry.session) {
      void entry.session.receive(frame, data);
    } else if (entry.outgoing) {
      return; // our call's session is not there yet: nothing for it can have been asked for
    } else if (frame.kind === Kind.OFFER) {
      entry.offer ??= frame;
      void this.handleOffer(tunnelId, entry);
    } else if (frame.kind === Kind.CALLER_KEY) {
      entry.callerKey ??= frame.spki;
      void this.handleOffer(tunnelId, entry);
    }
  }

  /**
   * Verifies the offer against the key the caller presents, whoever it claims to be; then, and only
   * then, asks whether that key is a contact. Every way to fail ends the same: silence.
   */
  private async handleOffer(tunnelId: number, entry: TunnelEntry): Promise<void> {
    const offer = entry.offer;
    const spki = entry.callerKey;
    if (!offer || !spki || entry.handling || entry.session || entry.ignored) return;
    entry.handling = true;
    const fields: OfferFields = {
      callId: offer.callId,
      timestamp: offer.timestamp,
      callerEph: offer.eph,
      callerIdentity: offer.callerIdentity,
      calleeIdentity: this.ownIdentity,
    };
    try {
      const fresh =
        Math.abs(this.now() - offer.timestamp) <= (this.o.offerMaxAgeMs ?? 120_000) &&
        !this.seenCalls.has(toHex(offer.callId));
      // The signature is checked even when the identity does not match the key, so the work done
      // does not depend on what the offer claims.
      const signed = await verifyHostkeySignature(spki, 'call', offerTranscript(fields), offer.sig);
      const verified = signed && fresh && bytesEqual(identityOf(spki), offer.callerIdentity);
      if (!verified || !this.accepts(offer.callerIdentity, spki) || !this.tunnels.has(tunnelId)) {
        entry.ignored = true;
        return;
      }
      this.remember(toHex(offer.callId));
      const deps = this.deps({
        send: (b) => this.o.onion.send(tunnelId, b),
        canSend: () => this.tunnels.has(tunnelId),
        close: () => this.drop(tunnelId),
      });
      // The session is handed out before the answer is signed (a round trip to the bridge): the
      // tunnel's filler starts now, not after the signature, so the packet rate has no seam there.
      const session = await CallSession.answer(
        deps,
        { identity: offer.callerIdentity, spki },
        fields,
        (s) => {
          entry.session = s;
          clearTimeout(entry.timer);
          if (!this.busy) this.announce(s);
        },
      );
      // Ring (or say busy) only once the caller proved it holds the offer's keys: a replayed offer
      // is answered, but its sender can't open the answer, so it never rings here.
      session.onConfirmed(() => {
        const busy = this.busy;
        session.confirmed(busy);
        if (!busy) this.setCurrent(session);
      });
    } catch {
      this.drop(tunnelId);
    } finally {
      entry.handling = false;
      if (entry.expired && !entry.session) this.drop(tunnelId);
    }
  }

  /** A verified caller is let in if it is a contact with this very key, or if the user allows anyone. */
  private accepts(identity: Uint8Array, spki: Uint8Array): boolean {
    const known = this.o.contactKey(toHex(identity));
    if (known) return bytesEqual(known, spki);
    return this.o.allowUnknownCallers();
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  private remember(callId: string): void {
    if (this.seenCalls.size >= MAX_SEEN_CALLS) this.seenCalls.delete(this.seenCalls.values().next().value!);
    this.seenCalls.add(callId);
  }

  private drop(tunnelId: number): void {
    const entry = this.tunnels.get(tunnelId);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.tunnels.delete(tunnelId);
    this.o.onion.destroy(tunnelId);
  }
}
