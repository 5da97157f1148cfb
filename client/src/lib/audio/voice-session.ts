// One call's audio: microphone -> Opus -> send(payload) and receive(payload) -> jitter buffer ->
// Opus/concealment -> AudioWorklet -> speaker. Self-contained: the call layer gives it a send
// function and feeds it the peer's payloads; it never touches the network. See docs/audio.md.
import { FrameEncoder } from './encoder.ts';
import type { JitterBufferOptions } from './jitter-buffer.ts';
import { decodePayload, Flag, PayloadError, unwrapSeq } from './payload.ts';
import { Playout } from './playout.ts';
import { RttMeter } from './rtt.ts';
import { type CallStats, LossWindow } from './stats.ts';
import { AudioTap } from './tap.ts';
import { TrackCapture, trackCaptureSupported } from './track-capture.ts';
import { NetEqPlayout } from './neteq.ts';
import { loadWorklet } from './worklet.ts';

export interface VoiceSessionOptions {
  /** Hands one media payload (PAYLOAD_SIZE bytes) to the call, every 20 ms while started. */
  send: (payload: Uint8Array) => void;
  /** Microphone stream; by default getUserMedia with echo cancellation, noise suppression, AGC. */
  stream?: MediaStream;
  jitter?: Partial<JitterBufferOptions>;
  bitrate?: number;
  /** Record what was captured and played (tests and benchmarks), up to `tapSeconds`. */
  tap?: boolean;
  tapSeconds?: number;
  /**
   * Where the microphone is read: 'worklet' (default: a source node into the capture worklet) or
   * 'track' (MediaStreamTrackProcessor's AudioData, track-capture.ts; falls back to the worklet
   * where the browser lacks it or the track is not 48 kHz).
   */
  capture?: 'worklet' | 'track';
  /**
   * Who plays the peer: 'worklet' (default: our jitter buffer, Opus decoder and playback worklet)
   * or 'neteq' (issue 17: WebRTC's own receiver fed our frames through an encoded transform,
   * played by an <audio> element; neteq.ts; the product's default, call-audio.ts). Falls back to
   * the worklet if NetEq cannot open (it needs the microphone permission and a local address).
   */
  playout?: 'worklet' | 'neteq';
  /** Samples the playback ring holds before playing (default 1536 = 32 ms). */
  prefill?: number;
  /**
   * Without a microphone (denied, missing, busy) send coded silence instead of failing: the
   * person still hears the friend, and the call keeps its 50 packets/s (default true).
   */
  silentWithoutMic?: boolean;
}

/**
 * Excess delay (ms) the player glides out at up to 2 % instead of dropping frames (beyond it frames
 * are dropped at once). Off (0) by default until the device bench's echo run shows it wins: a
 * glide resamples the voice by up to 2 %, and under 0-40 ms jitter the loopback e2e's waveform
 * correlation fell from > 0.3 to 0.15 with it on. Turn on with `jitter: { stretchMs: 60 }`.
 */
export const STRETCH_MS = 0;

export const MIC_CONSTRAINTS: MediaTrackConstraints = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
  channelCount: 1,
  sampleRate: 48000,
};

/**
 * Send side beyond the microphone's own latency (ms): the 20 ms capture frame, the render quantum
 * and FIFO between the track and the capture worklet (~10, measured through PulseAudio devices:
 * docs/audio.md), Opus's 6.5 ms look-ahead.
 */
export const SEND_MS = 20 + 10 + 6.5;
/** Receive side beyond the ring and the device: one 128-sample render quantum. */
export const RECEIVE_MS = 128 / 48;

/**
 * Output latency of the context (ms). Where the browser reports outputLatency 0 (Chromium on some
 * Linux sound servers), the output timestamp tells it: the sample at contextTime reaches the
 * speaker at performanceTime, so what was just rendered (currentTime) reaches it that much later.
 */
export function outputMs(ctx: AudioContext): number {
  const reported = (ctx.baseLatency + (ctx.outputLatency || 0)) * 1000;
  if (ctx.outputLatency > 0 || typeof ctx.getOutputTimestamp !== 'function') return reported;
  const ts = ctx.getOutputTimestamp();
  if (ts.contextTime === undefined || ts.performanceTime === undefined || ts.performanceTime === 0)
    return reported;
  const est = (ctx.currentTime - ts.contextTime) * 1000 + ts.performanceTime - performance.now();
  return est > reported && est < 1000 ? est : reported;
}

export class VoiceSession {
  ctx: AudioContext | undefined;
  readonly tap: AudioTap | undefined;
  private readonly rtt = new RttMeter(() => performance.now());
  private readonly loss = new LossWindow();
  private encoder: FrameEncoder | undefined;
  private playout: Playout | undefined;
  private stream: MediaStream | undefined;
  private trackCapture: TrackCapture | undefined;
  /** The NetEq playout when `playout: 'neteq'` opened (else the worklet plays). */
  neteq: NetEqPlayout | undefined;
  /** Which capture runs ('track' falls back to 'worklet'; tests and the bench read it). */
  captureFrom: 'worklet' | 'track' | undefined;
  private ownStream = false;
  private nodes: AudioNode[] = [];
  private highest: number | undefined;
  private startedAt = 0;
  private badPayloads = 0;
  /** performance.now() of the last payload from the peer (0: none yet). */
  private lastHeard = 0;
  private peerMuted = false;
  muted = false;
  private stopped = false;
  /** Why the microphone could not be opened (the session then sends silence). */
  micError: Error | undefined;
  /** How the worklet was loaded: 'file' (same-origin, CSP-proof) or the 'blob' fallback. */
  workletFrom: 'file' | 'blob' | undefined;

  constructor(private readonly o: VoiceSessionOptions) {
    this.tap = o.tap ? new AudioTap(o.tapSeconds ?? 30) : undefined;
  }

  async start(): Promise<void> {
    const ctx = new AudioContext({ sampleRate: 48000, latencyHint: 'interactive' });
    this.ctx = ctx;
    this.workletFrom = await loadWorklet(ctx);
    this.ownStream = !this.o.stream;
    this.stream = this.o.stream ?? (await this.openMic(ctx));
    // The call may have ended while the worklet loaded or the permission prompt was open.
    if (this.stopped) {
      if (this.ownStream) for (const t of this.stream.getTracks()) t.stop();
      throw new Error('stopped');
    }
    const playback = new AudioWorkletNode(ctx, 'voice-playback', {
      numberOfInputs: 0,
      outputChannelCount: [1],
      processorOptions: { tap: !!this.tap, prefill: this.o.prefill ?? 1536 },
    });
    playback.connect(ctx.destination);
    const prefill = this.o.prefill ?? 1536;
    // With stretchMs the delay glides instead of stepping by frames unless far off: the echo
    // canceller follows a glide, a step of tens of ms loses its lock (issue 17).
    this.playout = new Playout(playback, () => performance.now(), prefill, {
      stretchMs: STRETCH_MS,
      ...this.o.jitter,
    });
    playback.port.onmessage = (e) => {
      // Once NetEq plays, the tap records its output instead (openNetEq).
      if (e.data.tap) {
        if (!this.neteq) this.tap?.output(e.data.tap, e.data.frame);
      } else this.playout?.tick(e.data);
    };
    this.encoder = new FrameEncoder(this.o.send, this.rtt, this.o.bitrate);
    this.nodes.push(playback);
    const track = this.stream.getAudioTracks()[0];
    if (this.o.capture === 'track' && track && trackCaptureSupported()) this.captureTrack(ctx, track);
    else this.captureWorklet(ctx);
    // The worklet plays whatever comes while NetEq opens (its ICE and connection take a moment).
    if (this.o.playout === 'neteq') await this.openNetEq(ctx);
    this.startedAt = performance.now();
    if (ctx.state === 'suspended') await ctx.resume();
  }

  private async openNetEq(ctx: AudioContext): Promise<void> {
    let neteq: NetEqPlayout;
    try {
      neteq = await NetEqPlayout.open();
    } catch (e) {
      console.warn(`NetEq playout could not open, playing through the worklet: ${(e as Error).message}`);
      return;
    }
    if (this.stopped) return neteq.close(); // the call ended meanwhile
    this.neteq = neteq;
    if (!this.tap || !neteq.stream) return;
    // What NetEq plays, recorded on this context's clock in 20 ms blocks as the capture is.
    const rec = new AudioWorkletNode(ctx, 'voice-capture', { numberOfInputs: 1, numberOfOutputs: 0 });
    const src = ctx.createMediaStreamSource(neteq.stream);
    src.connect(rec);
    rec.port.onmessage = (e) => this.tap?.output(e.data.pcm, e.data.frame);
    this.nodes.push(src, rec);
  }

  private captureWorklet(ctx: AudioContext): void {
    if (!this.stream || this.stopped) return;
    const capture = new AudioWorkletNode(ctx, 'voice-capture', { numberOfInputs: 1, numberOfOutputs: 0 });
    const src = ctx.createMediaStreamSource(this.stream);
    src.connect(capture);
    this.captureFrom = 'worklet';
    capture.port.onmessage = (e) => {
      this.tap?.input(e.data.pcm, e.data.frame);
      this.encoder?.encode(e.data.pcm, this.muted);
    };
    this.nodes.push(src, capture);
  }

  /** Frames straight from the track (no source node, no worklet hop); the worklet if that fails. */
  private captureTrack(ctx: AudioContext, track: MediaStreamTrack): void {
    this.captureFrom = 'track';
    this.trackCapture = new TrackCapture(
      track,
      (pcm) => {
        // The tap's frame: the context clock now, less the frame's length (approximate).
        this.tap?.input(pcm, Math.max(0, Math.round(ctx.currentTime * 48000) - pcm.length));
        this.encoder?.encode(pcm, this.muted);
      },
      () => {
        this.trackCapture?.stop();
        this.trackCapture = undefined;
        this.captureWorklet(ctx);
      },
    );
  }

  private async openMic(ctx: AudioContext): Promise<MediaStream> {
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: MIC_CONSTRAINTS });
    } catch (e) {
      if (this.o.silentWithoutMic === false) throw e;
      this.micError = e as Error;
      return ctx.createMediaStreamDestination().stream; // a live track of silence
    }
  }

  /** Takes one payload from the peer. Malformed ones are counted and dropped, never thrown. */
  receive(payload: Uint8Array): void {
    const pl = this.playout;
    if (!pl) return;
    let f: ReturnType<typeof decodePayload>;
    try {
      f = decodePayload(payload);
    } catch (e) {
      if (!(e instanceof PayloadError)) throw e;
      this.badPayloads++;
      return;
    }
    const seq = this.highest === undefined ? f.seq : unwrapSeq(f.seq, this.highest);
    this.highest = Math.max(this.highest ?? seq, seq);
    this.rtt.incoming(f);
    this.lastHeard = performance.now();
    this.peerMuted = (f.flags & Flag.MUTED) !== 0;
    const opus = f.flags & Flag.VOICE ? f.opus : new Uint8Array(0);
    if (this.neteq) {
      // NetEq plays; our jitter buffer still sees every frame so the call's figures stay ours.
      if (opus.length > 0) this.neteq.push(f.seq, opus);
      pl.jb.push(seq, new Uint8Array(0), performance.now());
      return;
    }
    if (pl.jb.push(seq, opus, performance.now()) === 'resync') this.highest = seq;
  }

  setMuted(muted: boolean): void {
    this.muted = muted;
  }

  /** Recent gaps of 60 ms or more (for tests and the bench). */
  gaps(): { at: number; ms: number }[] {
    return [...(this.playout?.gaps ?? [])];
  }

  stats(): CallStats {
    const jb = this.playout?.jb.stats();
    const pc = this.playout?.counters;
    const ctx = this.ctx;
    if (jb) this.loss.sample(jb.lost, jb.played, performance.now());
    const outMs = ctx ? outputMs(ctx) : 0;
    // With NetEq playing, our jitter buffer only counts frames (received, lost, late): the delay
    // and the concealment are NetEq's, plus the time frames wait for its sender's slot.
    const nq = this.neteq?.latest;
    const ringMs = nq ? 0 : pc ? pc.ringLevel / 48 : 0;
    const bufferMs = nq ? nq.jitterMs + nq.waitMs : (jb?.delayMs ?? 0);
    const measured = !!jb && (!this.neteq || !!nq);
    const rtt = this.rtt.rttMs;
    const fixedMs = this.inputMs() + SEND_MS + RECEIVE_MS;
    return {
      durationMs: this.startedAt ? performance.now() - this.startedAt : 0,
      rttMs: rtt,
      // Mouth to ear as a person hears it: the peer's microphone and capture frame, the path
      // (rtt/2), jitter buffer, ring, and this side's device output (see the constants below).
      latencyMs: rtt === undefined || !measured ? undefined : fixedMs + rtt / 2 + bufferMs + ringMs + outMs,
      ringMs,
      outputMs: outMs,
      jitterMs: jb?.jitterMs ?? 0,
      lossPct: this.loss.percent(),
      bufferMs,
      targetMs: nq ? nq.targetMs : (jb?.targetMs ?? 0),
      sent: this.encoder?.sent ?? 0,
      received: jb?.received ?? 0,
      lost: jb?.lost ?? 0,
      late: jb?.late ?? 0,
      concealed: nq ? Math.round(nq.concealedSamples / 960) : (pc?.concealed ?? 0),
      underruns: nq ? 0 : (pc?.underruns ?? 0),
      longestGapMs: nq ? nq.worstConcealedMs : (pc?.longestGapMs ?? 0),
      playout: this.neteq ? 'neteq' : 'worklet',
      badPayloads: this.badPayloads,
      muted: this.muted,
      peerMuted: this.peerMuted,
      micOk: !this.micError && this.micLive(),
      silentForMs: this.startedAt ? performance.now() - (this.lastHeard || this.startedAt) : 0,
    };
  }

  /**
   * Microphone to page (ms): what the track reports of its capture latency (Chromium's
   * MediaStreamTrack.stats), else its settings, else a typical 10 ms. The peer's is not known here;
   * both ends run the same code on similar devices, so ours stands in for theirs.
   */
  private inputMs(): number {
    const t = this.stream?.getAudioTracks()[0] as
      | (MediaStreamTrack & { stats?: { averageLatency?: number } })
      | undefined;
    const avg = t?.stats?.averageLatency;
    if (typeof avg === 'number' && avg > 0 && avg < 500) return avg;
    const set = (t?.getSettings() as { latency?: number } | undefined)?.latency;
    return typeof set === 'number' && set > 0 && set < 0.5 ? set * 1000 : 10;
  }

  /** The microphone track still delivers (unplugged or revoked mid-call ends it). */
  private micLive(): boolean {
    const t = this.stream?.getAudioTracks()[0];
    return !this.stream || (!!t && t.readyState === 'live');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const n of this.nodes) {
      if (n instanceof AudioWorkletNode) n.port.postMessage('stop');
      n.disconnect();
    }
    this.nodes = [];
    this.trackCapture?.stop();
    this.trackCapture = undefined;
    this.neteq?.close();
    this.neteq = undefined;
    this.encoder?.close();
    this.playout?.close();
    this.encoder = undefined;
    this.playout = undefined;
    if (this.ownStream) for (const t of this.stream?.getTracks() ?? []) t.stop();
    await this.ctx?.close();
    this.ctx = undefined;
  }
}
