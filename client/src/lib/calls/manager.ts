// Calls on this client: places outgoing calls over a new onion tunnel, answers offers arriving on
// incoming tunnels (verifying who calls), keeps at most one live call (others get BUSY), and
// destroys tunnels that carry nothing useful. Transport-agnostic: see OnionPort.
import { randomBytes } from '@noble/hashes/utils.js';
import { identityOf, toHex } from '../../../../shared/identity.ts';
import { bytesEqual } from '../crypto/bytes.ts';
import { verifyHostkeySignature } from '../crypto/rsa.ts';
import { type OfferFields, offerTranscript } from './handshake.ts';
import { type CallDeps, type CallSession as Session, CallSession, type CallTimings } from './session.ts';
import {
  type CallFrame,
  CALL_ID_BYTES,
  decodeCallFrame,
  encodeRefuse,
  Kind,
  type Offer,
  RefuseReason,
} from './wire.ts';

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
  /** Incoming tunnels without a valid offer are destroyed after this long. */
  offerWaitMs?: number;
  /** An offer this much older or newer than our clock is ignored (replayed offers). */
  offerMaxAgeMs?: number;
  /**
   * How long to wait before asking the onion for the tunnel. The client uses this to start calls
   * just before a round boundary (the spec's "a call waits for the next round"), so the moment a
   * user presses Call is not visible on the network. Default: at once.
   */
  buildDelayMs?: () => number;
}

const MAX_TUNNELS = 32;
const MAX_SEEN_CALLS = 256;

interface TunnelEntry {
  session?: Session;
  offer?: Offer;
  callerKey?: Uint8Array;
  handling?: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

export class CallManager {
  current: Session | null = null;
  private readonly ownIdentity: Uint8Array;
  private readonly tunnels = new Map<number, TunnelEntry>();
  private readonly seenCalls = new Set<string>();
  private readonly callCbs = new Set<(s: Session) => void>();
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

  get busy(): boolean {
    return this.current !== null && this.current.state !== 'ended';
  }

  async call(peer: { spki: Uint8Array; host: string; port: number }): Promise<Session> {
    if (this.busy) throw new Error('You are already in a call.');
    let tunnelId: number | null = null;
    let closed = false;
    // One retry: right after start-up the onion may not know enough peers for a path yet.
    const build = () => (closed ? Promise.reject(new Error('cancelled')) : this.o.onion.build(peer));
    const delay = Math.max(0, this.o.buildDelayMs?.() ?? 0);
    const first = delay
      ? new Promise<number>((r, j) => setTimeout(() => build().then(r, j), delay))
      : build();
    const ready = first
      .catch(() => new Promise<number>((r, j) => setTimeout(() => build().then(r, j), 1000)))
      .then((id) => {
        if (closed) {
          this.o.onion.destroy(id);
          throw new Error('cancelled');
        }
        tunnelId = id;
        this.tunnels.set(id, { session });
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
    this.setCurrent(session);
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
    };
  }

  private setCurrent(s: Session): void {
    this.current = s;
    for (const cb of [...this.callCbs]) cb(s);
  }

  private onTunnelError(tunnelId: number): void {
    const entry = this.tunnels.get(tunnelId);
    if (!entry) return;
    entry.session?.fail('the tunnel to your friend broke');
    this.drop(tunnelId);
  }

  private onIncoming(tunnelId: number): void {
    if (this.tunnels.has(tunnelId)) return;
    if (this.tunnels.size >= MAX_TUNNELS) {
      this.o.onion.destroy(tunnelId);
      return;
    }
    const entry: TunnelEntry = {};
    entry.timer = setTimeout(() => !entry.session && this.drop(tunnelId), this.o.offerWaitMs ?? 30_000);
    this.tunnels.set(tunnelId, entry);
  }

  private onData(tunnelId: number, data: Uint8Array): void {
    const entry = this.tunnels.get(tunnelId);
    if (!entry) return;
    let frame: CallFrame;
    try {
      frame = decodeCallFrame(data);
    } catch {
      return; // not ours (or damaged): dropped, the tunnel is best effort anyway
    }
    if (entry.session) {
      void entry.session.receive(frame, data);
    } else if (frame.kind === Kind.OFFER) {
      entry.offer ??= frame;
      void this.handleOffer(tunnelId, entry);
    } else if (frame.kind === Kind.CALLER_KEY && !entry.callerKey) {
      entry.callerKey = frame.spki;
      if (entry.offer) void this.handleOffer(tunnelId, entry);
    }
  }

  private callerKey(offer: Offer, entry: TunnelEntry): Uint8Array | 'unknown' | 'wait' {
    const known = this.o.contactKey(toHex(offer.callerIdentity));
    if (known) return known;
    if (!this.o.allowUnknownCallers()) return 'unknown';
    if (!entry.callerKey) return 'wait';
    return bytesEqual(identityOf(entry.callerKey), offer.callerIdentity) ? entry.callerKey : 'unknown';
  }

  private async handleOffer(tunnelId: number, entry: TunnelEntry): Promise<void> {
    const offer = entry.offer!;
    if (entry.handling || entry.session) return;
    const age = Math.abs(Date.now() - offer.timestamp);
    if (age > (this.o.offerMaxAgeMs ?? 120_000) || this.seenCalls.has(toHex(offer.callId))) return;
    const spki = this.callerKey(offer, entry);
    if (spki === 'wait') return;
    if (spki === 'unknown')
      return this.o.onion.send(tunnelId, encodeRefuse(offer.callId, RefuseReason.NOT_ACCEPTED));
    entry.handling = true;
    const fields: OfferFields = {
      callId: offer.callId,
      timestamp: offer.timestamp,
      callerEph: offer.eph,
      callerIdentity: offer.callerIdentity,
      calleeIdentity: this.ownIdentity,
    };
    try {
      if (!(await verifyHostkeySignature(spki, 'call', offerTranscript(fields), offer.sig))) {
        return this.o.onion.send(tunnelId, encodeRefuse(offer.callId, RefuseReason.BAD_OFFER));
      }
      if (!this.tunnels.has(tunnelId)) return;
      this.remember(toHex(offer.callId));
      clearTimeout(entry.timer);
      const busy = this.busy;
      const deps = this.deps({
        send: (b) => this.o.onion.send(tunnelId, b),
        canSend: () => this.tunnels.has(tunnelId),
        close: () => this.drop(tunnelId),
      });
      const session = await CallSession.answer(deps, { identity: offer.callerIdentity, spki }, fields, busy);
      entry.session = session;
      if (!busy) this.setCurrent(session);
    } catch {
      this.drop(tunnelId);
    } finally {
      entry.handling = false;
    }
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
