// The seam between calls (issue 7) and audio (issue 8): one instance per client engine. While a
// call is connected, a VoiceSession carries its media through call.sendMedia / call.onMedia.
// Pacing (one cell per 20 ms slot in every state, cover, filler) is not decided here: CallPacing
// (client/src/lib/pacing/streams.ts) owns it; this class only hands it every call.
// Only structural types of the call engine are used, so either side can change behind them.
import type { CoverSender, CoverSenderOptions } from '../pacing/pacer.ts';
import { workerTicker } from '../pacing/pacer.ts';
import { CallPacing, LIVE_STATES as LIVE, type PacedCall } from '../pacing/streams.ts';
import type { CallStats } from './stats.ts';
import { VoiceSession, type VoiceSessionOptions } from './voice-session.ts';

/** What audio needs from a call (client/src/lib/calls/session.ts CallSession). */
export interface MediaCall extends PacedCall {
  readonly state: string;
  onState(cb: (state: string) => void): () => void;
  onMedia(cb: (payload: Uint8Array) => void): () => void;
  sendMedia(frame: Uint8Array): boolean;
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

export class CallAudio {
  voice: VoiceSession | null = null;
  readonly pacing: CallPacing;
  /** The client's own stream (cover, or the tunnel of a call we placed). */
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
  lastError = '';

  constructor(o: CallAudioOptions) {
    // WebRTC's NetEq plays the friend where it can open (the microphone permission and a local
    // address; else our worklet): it keeps the browser's echo canceller locked where our playout
    // let a caller hear her own words at full level in 2 of 5 runs (docs/audio.md, issue 17).
    this.voiceOptions = { playout: 'neteq', ...o.voice };
    this.pacing = new CallPacing({
      sendCover: o.sendCover,
      coverAllowed: o.coverAllowed,
      pacer: { ticker: workerTicker, ...o.cover },
    });
    this.cover = this.pacing.own;
    this.offs.push(o.onCall((c) => this.attach(c)));
    if (o.coverOnIdle !== false) this.pacing.start();
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
    this.pacing.stop();
    this.dropCall();
  }

  private attach(call: MediaCall): void {
    this.dropCall();
    this.call = call;
    this.pacing.add(call);
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
      this.dropCall(); // pacing goes on by itself: filler until the tunnel is gone, then cover
      this.changed();
    }
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
