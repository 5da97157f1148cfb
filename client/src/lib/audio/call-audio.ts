// The seam between calls (issue 7) and audio (issue 8): one instance per client engine. While a
// call is connected, a VoiceSession carries its media through call.sendMedia / call.onMedia; the
// rest of the time a CoverSender keeps the same packet rate and size going as ONION COVER.
// Only structural types of the call engine are used, so either side can change behind them.
import { CoverSender, type CoverSenderOptions, workerTicker } from './cover.ts';
import type { CallStats } from './stats.ts';
import { VoiceSession, type VoiceSessionOptions } from './voice-session.ts';

/** What audio needs from a call (client/src/lib/calls/session.ts CallSession). */
export interface MediaCall {
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
  /** False while the client has a BUILD pending or a READY tunnel: cover is illegal then. */
  coverAllowed: () => boolean;
  voice?: Omit<VoiceSessionOptions, 'send'>;
  cover?: Partial<CoverSenderOptions>;
  /** Start cover traffic right away (default true). */
  coverOnIdle?: boolean;
}

const LIVE = new Set(['connecting', 'ringing', 'incoming', 'connected']);

export class CallAudio {
  voice: VoiceSession | null = null;
  readonly cover: CoverSender;
  private call: MediaCall | null = null;
  private offs: (() => void)[] = [];
  /** Subscriptions on the current call, dropped when it ends (bounded across many calls). */
  private callOffs: (() => void)[] = [];
  private readonly changeCbs = new Set<() => void>();
  private muted = false;
  lastError = '';

  constructor(private readonly o: CallAudioOptions) {
    this.cover = new CoverSender({
      sendCover: o.sendCover,
      allowed: () => !this.call && o.coverAllowed(),
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

  stats(): CallStats | null {
    return this.voice?.stats() ?? null;
  }

  stop(): void {
    for (const off of this.offs) off();
    this.offs = [];
    this.cover.stop();
    this.dropCall();
  }

  private attach(call: MediaCall): void {
    this.dropCall();
    this.call = call; // from now on no cover: the call's own packets take its place
    this.callOffs.push(call.onState((s) => this.onState(call, s)));
    this.onState(call, call.state);
  }

  private onState(call: MediaCall, state: string): void {
    if (call !== this.call) return;
    if (state === 'connected' && !this.voice) void this.startVoice(call);
    if (!LIVE.has(state)) {
      this.dropCall(); // cover resumes once coverAllowed() says the tunnel is gone
      this.changed();
    }
  }

  private async startVoice(call: MediaCall): Promise<void> {
    const voice = new VoiceSession({ ...this.o.voice, send: (p) => call.sendMedia(p) });
    this.voice = voice;
    voice.setMuted(this.muted);
    this.callOffs.push(call.onMedia((p) => voice.receive(p)));
    try {
      await voice.start();
      this.lastError = '';
    } catch (e) {
      this.lastError = `Microphone or audio unavailable: ${(e as Error).message}`;
    }
    this.changed();
  }

  private dropCall(): void {
    for (const off of this.callOffs) off();
    this.callOffs = [];
    void this.voice?.stop();
    this.voice = null;
    this.call = null;
  }

  private changed(): void {
    for (const cb of [...this.changeCbs]) cb();
  }
}
