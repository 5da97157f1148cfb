// The seam between calls (issue 7) and audio (issue 8): one instance per client engine. While a
// call is connected, a VoiceSession carries its media through call.sendMedia / call.onMedia. The
// CoverSender keeps one packet of a call packet's size every 20 ms in every phase: the call's own
// frames when it sends some, filler through the call's tunnel while one is open, else ONION COVER.
// Only structural types of the call engine are used, so either side can change behind them.
import { CALL_DATA_SIZE, CoverSender, type CoverSenderOptions, workerTicker } from './cover.ts';
import type { CallStats } from './stats.ts';
import { VoiceSession, type VoiceSessionOptions } from './voice-session.ts';

/** What audio needs from a call (client/src/lib/calls/session.ts CallSession). */
export interface MediaCall {
  readonly state: string;
  onState(cb: (state: string) => void): () => void;
  onMedia(cb: (payload: Uint8Array) => void): () => void;
  sendMedia(frame: Uint8Array): boolean;
  /** Sends one filler frame of `dataSize` bytes through the call's tunnel; false if none is open. */
  fill?(dataSize: number): boolean;
  /** Onion cells the call has sent so far (its own frames and filler). */
  readonly cellsSent?: number;
}

export interface CallAudioOptions {
  /** Every new call (VoidPhone.onCall). */
  onCall: (cb: (call: MediaCall) => void) => () => void;
  /** Sends ONION COVER (e.g. `(n) => vp.conn.send({ type: 566, coverSize: n })`). */
  sendCover: (coverSize: number) => void;
  /**
   * False while the client has a BUILD unanswered or a READY tunnel: cover is illegal then (spec
   * 4.6.7). BridgeOnionPort.coverAllowed() tracks exactly that.
   */
  coverAllowed: () => boolean;
  voice?: Omit<VoiceSessionOptions, 'send'>;
  cover?: Partial<CoverSenderOptions>;
  /** Start cover traffic right away (default true). */
  coverOnIdle?: boolean;
}

const LIVE = new Set(['connecting', 'ringing', 'incoming', 'connected']);
/** Calls whose tunnels may still be open (a hung-up call lingers while the next one starts). */
const MAX_TUNNEL_CALLS = 4;

export class CallAudio {
  voice: VoiceSession | null = null;
  readonly cover: CoverSender;
  /** Options for the next call's VoiceSession (tests turn the tap on here). */
  voiceOptions: Omit<VoiceSessionOptions, 'send'>;
  private call: MediaCall | null = null;
  private connectedAt = 0;
  private offs: (() => void)[] = [];
  /** Subscriptions on the current call, dropped when it ends (bounded across many calls). */
  private callOffs: (() => void)[] = [];
  private readonly changeCbs = new Set<() => void>();
  private muted = false;
  /** Calls that may hold a tunnel, newest last, with the cells of theirs already accounted for. */
  private readonly tunnelCalls = new Map<MediaCall, number>();
  private leftOver = 0;
  lastError = '';

  constructor(o: CallAudioOptions) {
    this.voiceOptions = { ...o.voice };
    // Cover stops only when the call's own media takes its place (or the onion forbids it): a
    // caller keeps it up while waiting for the round boundary, so the click is not visible, and a
    // callee while it rings (its INCOMING tunnel does not make COVER illegal).
    const size = o.cover?.coverSize ?? CALL_DATA_SIZE;
    this.cover = new CoverSender({
      sendCover: o.sendCover,
      allowed: () => !this.voice && o.coverAllowed(),
      fill: () => this.fill(size),
      spent: () => this.spent(),
      ticker: workerTicker,
      ...o.cover,
    });
    this.offs.push(o.onCall((c) => this.attach(c)));
    if (o.coverOnIdle !== false) this.cover.start();
  }

  onChange(cb: () => void): () => void {
    this.changeCbs.add(cb);
    return () => this.changeCbs.delete(cb);
  }

  setMuted(m: boolean): void {
    this.muted = m;
    this.voice?.setMuted(m);
    this.changed();
  }

  get isMuted(): boolean {
    return this.muted;
  }

  /** Time since the current call connected (0 when none is connected). */
  durationMs(): number {
    return this.connectedAt ? performance.now() - this.connectedAt : 0;
  }

  stats(): CallStats | null {
    return this.voice?.stats() ?? null;
  }

  stop(): void {
    for (const off of this.offs) off();
    this.offs = [];
    this.cover.stop();
    this.dropCall();
    this.tunnelCalls.clear();
  }

  private attach(call: MediaCall): void {
    this.dropCall();
    this.call = call;
    if (call.fill) {
      this.tunnelCalls.set(call, call.cellsSent ?? 0);
      if (this.tunnelCalls.size > MAX_TUNNEL_CALLS)
        this.tunnelCalls.delete(this.tunnelCalls.keys().next().value!);
    }
    this.callOffs.push(call.onState((s) => this.onState(call, s)));
    this.onState(call, call.state);
    this.changed();
  }

  private onState(call: MediaCall, state: string): void {
    if (call !== this.call) return;
    if (state === 'connected' && !this.voice) {
      this.connectedAt = performance.now();
      void this.startVoice(call);
    }
    if (!LIVE.has(state)) {
      this.dropCall(); // cover resumes once coverAllowed() says no READY tunnel is held
      this.changed();
    }
  }

  /** Filler through the newest call's open tunnel; calls that ended and hold none are let go. */
  private fill(size: number): boolean {
    for (const call of [...this.tunnelCalls.keys()].reverse()) {
      const before = call.cellsSent ?? 0;
      if (call.fill!(size)) {
        // The pacer counts the filler itself; `spent` must not count it again.
        this.tunnelCalls.set(call, this.tunnelCalls.get(call)! + (call.cellsSent ?? 0) - before);
        return true;
      }
      if (!LIVE.has(call.state)) {
        this.leftOver += this.spentBy(call);
        this.tunnelCalls.delete(call);
      }
    }
    return false;
  }

  private spent(): number {
    let n = this.leftOver;
    this.leftOver = 0;
    for (const call of this.tunnelCalls.keys()) n += this.spentBy(call);
    return n;
  }

  private spentBy(call: MediaCall): number {
    const now = call.cellsSent ?? 0;
    const n = now - (this.tunnelCalls.get(call) ?? now);
    this.tunnelCalls.set(call, now);
    return n;
  }

  private async startVoice(call: MediaCall): Promise<void> {
    const voice = new VoiceSession({ ...this.voiceOptions, send: (p) => call.sendMedia(p) });
    this.voice = voice;
    voice.setMuted(this.muted);
    this.callOffs.push(call.onMedia((p) => voice.receive(p)));
    this.lastError = '';
    this.changed();
    try {
      await voice.start();
      if (voice.micError && this.voice === voice) this.lastError = explainMicError(voice.micError);
    } catch (e) {
      if (this.voice === voice) this.lastError = `Audio could not start: ${(e as Error).message}`;
    }
    this.changed();
  }

  private dropCall(): void {
    for (const off of this.callOffs) off();
    this.callOffs = [];
    void this.voice?.stop();
    this.voice = null;
    this.call = null;
    this.connectedAt = 0;
  }

  private changed(): void {
    for (const cb of [...this.changeCbs]) cb();
  }
}

/** What a person can do about a microphone that did not open (getUserMedia errors by name). */
export function explainMicError(e: Error): string {
  const silent = 'You can hear your friend; they hear silence.';
  if (e.name === 'NotAllowedError' || e.name === 'SecurityError')
    return `Microphone blocked: allow microphone access for this page for your next call. ${silent}`;
  if (e.name === 'NotFoundError' || e.name === 'OverconstrainedError')
    return `No microphone found. ${silent}`;
  if (e.name === 'NotReadableError') return `The microphone is in use by another program. ${silent}`;
  if (e.name === 'TypeError')
    return `No microphone access on this page (it needs https or localhost). ${silent}`;
  return `The microphone could not be opened (${e.message}). ${silent}`;
}
