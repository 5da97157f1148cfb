// One call, end to end, as a state machine over an unreliable tunnel (loss, duplication, reordering).
//   caller: connecting --RINGING--> ringing --ACCEPT--> connected --HANGUP--> ended
//   callee: incoming --accept()--> connected ...; REJECT / BUSY / HANGUP end it from any live state.
// The offer is resent until the answer arrives; every control message until it is acknowledged.
// Key confirmation: once the caller has the keys it sends PINGs until it hears a sealed frame back;
// the callee counts the call as real (and lets the manager ring it) only on the caller's first
// authentic sealed frame. Anyone can replay a signed offer; only its author can open the answer.
// The UI and the audio code (issue 8) use: state, onState, accept/reject/hangup, sendMedia/onMedia.
import { randomBytes } from '@noble/hashes/utils.js';
import { toHex } from '../../../../shared/identity.ts';
import { bytesEqual, concatBytes } from '../crypto/bytes.ts';
import { verifyHostkeySignature } from '../crypto/rsa.ts';
import { FrameCipher } from './frames.ts';
import {
  answerTranscript,
  deriveKeys,
  type EphemeralKey,
  newEphemeral,
  type OfferFields,
  offerTranscript,
} from './handshake.ts';
import { ReliableSender, SeenSequences } from './reliable.ts';
import {
  type CallDeps,
  type CallState,
  type CallTimings,
  DEFAULT_TIMINGS,
  type EndReason,
  type Peer,
} from './types.ts';
import {
  type CallFrame,
  type ControlMsg,
  decodeInner,
  encodeAnswer,
  encodeCallerKey,
  encodeInner,
  encodeOffer,
  Kind,
  Msg,
  onionCells,
  RefuseReason,
  SEALED_HEADER,
  SEALED_OVERHEAD,
  sealedHeader,
} from './wire.ts';

export type { CallDeps, CallState, CallTimings, CallTransport, EndReason, Peer } from './types.ts';
export { DEFAULT_TIMINGS } from './types.ts';

/** The cover pacer's slot (one cell per 20 ms, docs/audio.md): a k-cell frame is paid back in k slots. */
const SLOT_MS = 20;
const NO_ANSWER = 'no answer: they may be offline, or have not added you as a contact';

export class CallSession {
  state: CallState;
  endReason: EndReason | null = null;
  endDetail = '';
  readonly peerId: string;
  /** Time of each state change (ms), for the UI and the set-up benchmark. */
  readonly times: Partial<Record<CallState, number>> = {};
  private readonly t: CallTimings;
  private readonly now: () => number;
  private cipher: FrameCipher | null = null;
  private readonly reliable: ReliableSender;
  private readonly seen = new SeenSequences();
  private readonly stateCbs = new Set<(s: CallState, reason: EndReason | null) => void>();
  private readonly mediaCbs = new Set<(payload: Uint8Array) => void>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private lastHeard = 0;
  /** When we last sent a sealed frame: media or filler keeps the peer's liveness check fed. */
  private lastSealedSent = Number.NEGATIVE_INFINITY;
  /** Onion cells this call has sent (signalling, media, filler): the cover pacer counts them. */
  cellsSent = 0;
  /** Counter of the filler sent before the keys exist; the real frames continue after it. */
  private preKeyCounter = 0;
  private closed = false;
  private lingerDone = false;
  private offerFrames: Uint8Array[] = [];
  private answerFrame: Uint8Array | null = null;
  /** Callee: the caller sent an authentic sealed frame (it holds the keys). Caller: the callee did. */
  private keyConfirmed = false;
  private readonly confirmedCbs = new Set<() => void>();
  private eph: EphemeralKey = newEphemeral();

  private constructor(
    readonly role: 'caller' | 'callee',
    readonly callId: Uint8Array,
    readonly peer: Peer,
    private readonly deps: CallDeps,
    private offer: OfferFields | null,
  ) {
    this.t = { ...DEFAULT_TIMINGS, ...deps.timings };
    this.now = deps.now ?? Date.now;
    this.peerId = toHex(peer.identity);
    this.state = role === 'caller' ? 'connecting' : 'incoming';
    this.times[this.state] = this.now();
    this.reliable = new ReliableSender(
      { intervalMs: this.t.retransmitMs, maxTries: this.t.maxTries },
      (msg, seq) => this.sendSealed(encodeInner({ msg, seq })),
      () => this.end('failed', 'the other side stopped responding'),
      () => this.maybeClose(),
    );
  }

  /** Caller side: sign and send the offer, resent until answered. */
  static async call(deps: CallDeps, peer: Peer, callId: Uint8Array): Promise<CallSession> {
    const s = new CallSession('caller', callId, peer, deps, null);
    const offer: OfferFields = {
      callId,
      timestamp: s.now(),
      callerEph: s.eph.public,
      callerIdentity: deps.ownIdentity,
      calleeIdentity: peer.identity,
    };
    s.offer = offer;
    const sig = await deps.sign(offerTranscript(offer));
    // The key first: it is the smaller frame (3 cells), so the offer can follow sooner (resendOffer).
    s.offerFrames = [
      encodeCallerKey(callId, deps.ownSpki),
      encodeOffer({
        callId,
        timestamp: offer.timestamp,
        eph: offer.callerEph,
        callerIdentity: deps.ownIdentity,
        sig,
      }),
    ];
    const ready = deps.transport.ready ?? Promise.resolve();
    ready.then(
      () => {
        s.resendOffer(0);
        // From READY, not from the click: the tunnel itself may take up to a round (build_in_slot).
        s.timer(() => s.state !== 'connected' && s.end('no-answer', 'no answer'), s.t.ringTimeoutMs + 15_000);
      },
      (e: Error) => s.end('failed', e.message),
    );
    return s;
  }

  /**
   * Callee side, for an offer already verified by the CallManager: send the answer, then wait for
   * the caller's key confirmation (onConfirmed); without it the session ends quietly.
   */
  static async answer(
    deps: CallDeps,
    peer: Peer,
    offer: OfferFields,
    /** Called with the session before the answer is signed, so its filler can start at once. */
    created?: (s: CallSession) => void,
  ): Promise<CallSession> {
    const s = new CallSession('callee', offer.callId, peer, deps, offer);
    s.cipher = new FrameCipher(
      deriveKeys('callee', s.eph, offer.callerEph, offer, s.eph.public),
      offer.callId,
    );
    created?.(s);
    let sig: Uint8Array;
    try {
      sig = await deps.sign(answerTranscript(offer, s.eph.public));
    } catch (e) {
      s.end('failed', `could not answer: ${(e as Error).message}`);
      throw e;
    }
    s.answerFrame = encodeAnswer({ callId: offer.callId, eph: s.eph.public, sig });
    s.transmit(s.answerFrame);
    s.lastHeard = s.now();
    const confirmMs = s.t.retransmitMs * s.t.maxTries;
    s.timer(() => !s.keyConfirmed && s.end('failed', 'the caller never confirmed its key'), confirmMs);
    return s;
  }

  /** Callee: called once, when the caller proved it holds the keys. */
  onConfirmed(cb: () => void): () => void {
    if (this.keyConfirmed) queueMicrotask(cb);
    else this.confirmedCbs.add(cb);
    return () => this.confirmedCbs.delete(cb);
  }

  /** Callee, after onConfirmed: ring, or tell the caller we are busy. */
  confirmed(busy: boolean): void {
    if (this.state !== 'incoming') return;
    if (busy) {
      this.end('busy', 'already in a call');
      return;
    }
    this.reliable.send(Msg.RINGING);
    this.timer(
      () => this.state === 'incoming' && this.end('missed', 'not answered', Msg.REJECT),
      this.t.ringTimeoutMs,
    );
  }

  onState(cb: (s: CallState, reason: EndReason | null) => void): () => void {
    this.stateCbs.add(cb);
    return () => this.stateCbs.delete(cb);
  }

  onMedia(cb: (payload: Uint8Array) => void): () => void {
    this.mediaCbs.add(cb);
    return () => this.mediaCbs.delete(cb);
  }

  accept(): void {
    if (this.role !== 'callee' || this.state !== 'incoming') return;
    this.reliable.send(Msg.ACCEPT);
    this.connected();
  }

  reject(): void {
    if (this.role === 'callee' && this.state === 'incoming') this.end('declined', 'you declined', Msg.REJECT);
  }

  hangup(): void {
    if (this.state === 'incoming') {
      this.reject();
      return;
    }
    if (this.state !== 'ended') this.end('hangup-local', 'you hung up', Msg.HANGUP);
  }

  /** The transport broke under us (e.g. the onion reported the tunnel gone). */
  fail(detail: string): void {
    this.end('failed', detail);
  }

  /**
   * The tunnel went away. Before any answer that is how a callee who does not take our call ends it
   * (it drops the tunnel, silently, whoever we are): say so as "no answer", not as a failure.
   */
  tunnelLost(): void {
    if (this.role === 'caller' && !this.cipher) this.end('no-answer', NO_ANSWER);
    else this.fail('the tunnel to your friend broke');
  }

  /** Opaque media payload (issue 8), sealed end to end; dropped unless connected. */
  sendMedia(frame: Uint8Array): boolean {
    if (this.state !== 'connected') return false;
    this.sendSealed(encodeInner({ msg: Msg.MEDIA, payload: frame }));
    return true;
  }

  /**
   * One filler frame of `dataSize` bytes (a sealed media frame's size) through this call's tunnel,
   * while the tunnel is open, whatever the state: the peer drops it, relays see a call packet.
   * Before the keys exist it is random bytes under a sealed frame's header. False: no tunnel.
   */
  fill(dataSize: number): boolean {
    if (this.closed || this.deps.transport.canSend?.() !== true) return false;
    if (this.cipher) {
      const pad = new Uint8Array(Math.max(0, dataSize - SEALED_OVERHEAD));
      this.sendSealed(encodeInner({ msg: Msg.PAD, payload: pad }));
    } else {
      const body = randomBytes(Math.max(0, dataSize - SEALED_HEADER));
      this.transmit(concatBytes(sealedHeader(this.callId, this.preKeyCounter++), body));
    }
    return true;
  }

  /** A decoded frame from this call's tunnel. */
  async receive(frame: CallFrame, raw: Uint8Array): Promise<void> {
    if (!bytesEqual(frame.callId, this.callId) || this.closed) return;
    if (frame.kind === Kind.OFFER && this.role === 'callee' && this.answerFrame) {
      this.transmit(this.answerFrame); // our answer was lost: the caller asks again
    } else if (frame.kind === Kind.ANSWER && this.role === 'caller' && !this.cipher) {
      await this.onAnswer(frame.eph, frame.sig);
    } else if (frame.kind === Kind.REFUSE && this.role === 'caller' && !this.cipher) {
      this.end(
        'refused',
        frame.reason === RefuseReason.NOT_ACCEPTED
          ? 'they have not added you as a contact'
          : 'the call was refused',
      );
    } else if (frame.kind === Kind.SEALED && this.cipher) {
      const plain = this.cipher.open(raw);
      if (plain) this.onSealed(plain);
    }
  }

  private async onAnswer(eph: Uint8Array, sig: Uint8Array): Promise<void> {
    const offer = this.offer!;
    if (!(await verifyHostkeySignature(this.peer.spki, 'call', answerTranscript(offer, eph), sig))) return;
    if (this.cipher || this.state === 'ended') return;
    try {
      this.cipher = new FrameCipher(deriveKeys('caller', this.eph, eph, offer, eph), this.callId);
      this.cipher.skipTo(this.preKeyCounter);
    } catch {
      return;
    }
    this.lastHeard = this.now();
    this.confirmKey(0);
  }

  /** Caller: PING until the callee's first sealed frame shows it got our key confirmation. */
  private confirmKey(tries: number): void {
    if (this.keyConfirmed || this.state === 'ended') return;
    if (tries >= this.t.maxTries) {
      this.end('failed', 'no response through the tunnel');
      return;
    }
    this.sendSealed(encodeInner({ msg: Msg.PING }));
    this.timer(() => this.confirmKey(tries + 1), this.t.retransmitMs);
  }

  private onSealed(plain: Uint8Array): void {
    let inner: ReturnType<typeof decodeInner>;
    try {
      inner = decodeInner(plain);
    } catch {
      return;
    }
    this.lastHeard = this.now();
    if (!this.keyConfirmed) {
      this.keyConfirmed = true;
      for (const cb of [...this.confirmedCbs]) cb();
      this.confirmedCbs.clear();
    }
    if (inner.msg === Msg.ACK) {
      this.reliable.ack(inner.seq);
      return;
    }
    if (inner.msg === Msg.MEDIA) {
      if (this.state === 'connected') for (const cb of this.mediaCbs) cb(inner.payload);
      return;
    }
    if (inner.msg === Msg.PING || inner.msg === Msg.PAD) return;
    this.sendSealed(encodeInner({ msg: Msg.ACK, seq: inner.seq }));
    if (this.seen.first(inner.seq)) this.onControl(inner.msg);
  }

  private onControl(msg: ControlMsg): void {
    if (this.state === 'ended') return;
    if (msg === Msg.HANGUP) {
      this.end(this.state === 'incoming' ? 'missed' : 'hangup-remote', 'they hung up');
      return;
    }
    if (this.role !== 'caller') return;
    if (msg === Msg.RINGING && this.state === 'connecting') this.setState('ringing');
    else if (msg === Msg.ACCEPT) this.connected();
    else if (msg === Msg.REJECT) this.end('rejected', 'they declined');
    else if (msg === Msg.BUSY) this.end('busy', 'they are in another call');
  }

  private connected(): void {
    if (this.state === 'connected' || this.state === 'ended') return;
    this.setState('connected');
    this.lastHeard = this.now();
    const tick = () => {
      if (this.state !== 'connected') return;
      const now = this.now();
      if (now - this.lastHeard > this.t.idleTimeoutMs) return this.end('failed', 'connection lost');
      // While media or filler flows it proves we are alive; an extra PING would raise the packet
      // rate above the 50/s that cover traffic imitates.
      if (now - this.lastSealedSent >= this.t.keepaliveMs) this.sendSealed(encodeInner({ msg: Msg.PING }));
      this.timer(tick, this.t.keepaliveMs);
    };
    this.timer(tick, this.t.keepaliveMs);
  }

  /**
   * The caller's key and the offer take turns, the pair sent every `retransmitMs`: one multi-cell
   * frame at a time, so the tunnel never carries a burst the pacer must pay back with a long silence.
   * The second follows the first as soon as the pacer has paid the first back (one 20 ms slot per
   * cell): the callee needs both to verify, and until it answers its cover runs alongside our
   * tunnel traffic, which a link observer would see as extra cells.
   */
  private resendOffer(tries: number): void {
    if (this.cipher || this.state === 'ended') return;
    const n = this.offerFrames.length;
    if (tries >= this.t.maxTries * n) {
      // A callee answers nobody it does not accept (not even with a refusal): silence is all we get.
      this.end('no-answer', NO_ANSWER);
      return;
    }
    const frame = this.offerFrames[tries % n]!;
    this.transmit(frame);
    const soon = Math.min(onionCells(frame.length) * SLOT_MS, this.t.retransmitMs / n);
    const next = tries % n === 0 ? soon : (this.t.retransmitMs - soon) / Math.max(1, n - 1);
    this.timer(() => this.resendOffer(tries + 1), next);
  }

  private end(reason: EndReason, detail: string, tell?: ControlMsg): void {
    if (this.state === 'ended') return;
    this.endReason = reason;
    this.endDetail = detail;
    if (tell && this.cipher) this.reliable.send(tell);
    else if (reason === 'busy' && this.role === 'callee') this.reliable.send(Msg.BUSY);
    this.setState('ended');
    this.timer(() => {
      this.lingerDone = true;
      this.maybeClose();
    }, this.t.lingerMs);
  }

  private maybeClose(): void {
    if (this.state !== 'ended' || !this.lingerDone || this.reliable.inFlight > 0 || this.closed) return;
    this.closed = true;
    this.reliable.stop();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.deps.transport.close();
  }

  private setState(s: CallState): void {
    this.state = s;
    this.times[s] = this.now();
    for (const cb of [...this.stateCbs]) cb(s, this.endReason);
  }

  private sendSealed(plain: Uint8Array): void {
    if (!this.cipher || this.closed) return;
    this.transmit(this.cipher.seal(plain));
    this.lastSealedSent = this.now();
  }

  private transmit(frame: Uint8Array): void {
    if (this.deps.transport.canSend?.() !== false) this.cellsSent += onionCells(frame.length);
    this.deps.transport.send(frame);
  }

  private timer(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}
