// Receive side on the main thread: jitter buffer -> Opus decoder / concealment -> playback worklet.
// The worklet's ticks (one per 20 ms of the audio device's clock) drive the jitter buffer's pulls.
// WebCodecs decodes asynchronously, so the frames of successive pulls wait in an ordered queue and
// leave for the worklet in pull order; a concealment frame is made when its turn comes, from the
// audio just before it.
import { JitterBuffer, type JitterBufferOptions } from './jitter-buffer.ts';
import { Concealer } from './plc.ts';

const FRAME = 960;
/** Pulls whose decode has not come back yet (bounds the queue if the decoder stalls). */
const MAX_PENDING = 16;

interface Slot {
  decode: boolean;
  pcm?: Float32Array;
}

export interface PlayoutCounters {
  decoded: number;
  concealed: number;
  decodeErrors: number;
  underruns: number;
  overflows: number;
  /** Samples waiting in the worklet's ring at the last tick. */
  ringLevel: number;
  /** Pulls skipped because the ring held more than it needs (after a main-thread stall). */
  ringSkips: number;
  /** Longest run of concealed frames since playout started (ms): the worst audible gap. */
  longestGapMs: number;
}

export interface Tick {
  /** Context frame of the render quantum that completed 20 ms. */
  tick: number;
  level: number;
  underruns: number;
  overflows: number;
}

/** Fastest and slowest the player plays to take out or build up delay: ±2 % = 20 ms a second. */
export const MAX_STRETCH = 0.02;
/** A glide starts when the excess leaves ±START_MS (the band the buffer tolerates anyway)... */
const START_MS = 10;
/** ...and ends inside ±STOP_MS: between glides the audio plays at exactly 1.0, bit-exact. */
const STOP_MS = 3;

/**
 * Playback rate for an excess delay (ms, from JitterBuffer.excessMs): proportional, taking the
 * excess out in about a second, capped at ±MAX_STRETCH, rounded to 0.1 % so the worklet is told
 * only of real changes. The delay then glides (≤ 0.4 ms per 20 ms) instead of stepping by whole
 * frames, and the echo canceller keeps its lock.
 */
export function playbackRate(excessMs: number | undefined): number {
  if (excessMs === undefined || Math.abs(excessMs) <= STOP_MS) return 1;
  const r = Math.max(-MAX_STRETCH, Math.min(MAX_STRETCH, excessMs / 1000));
  return Math.round((1 + r) * 1000) / 1000;
}

/**
 * When to glide: only once the excess leaves the band (±START_MS), until it is back near zero
 * (±STOP_MS). The slack wobbles by a few ms with every pull (render quanta, arrival spread); a
 * rate that followed the wobble would play off 1.0 most of the time.
 */
export class RateControl {
  private gliding = false;

  update(excessMs: number | undefined): number {
    if (excessMs === undefined) this.gliding = false;
    else if (Math.abs(excessMs) > START_MS) this.gliding = true;
    else if (Math.abs(excessMs) <= STOP_MS) this.gliding = false;
    return this.gliding ? playbackRate(excessMs) : 1;
  }
}

export class Playout {
  readonly jb: JitterBuffer;
  private readonly concealer = new Concealer(FRAME);
  private decoder: AudioDecoder | undefined;
  private readonly slots: Slot[] = [];
  private ts = 0;
  readonly counters: PlayoutCounters = {
    decoded: 0,
    concealed: 0,
    decodeErrors: 0,
    underruns: 0,
    overflows: 0,
    ringLevel: 0,
    ringSkips: 0,
    longestGapMs: 0,
  };
  private gapRun = 0;
  /** The last few gaps of 60 ms or more: when (Date.now()) and how long (ms). */
  readonly gaps: { at: number; ms: number }[] = [];

  private readonly clock = new FrameClock();
  /** The worklet plays at `rate` (1 ± MAX_STRETCH) when the jitter buffer stretches. */
  private rate = 1;
  private readonly rateControl = new RateControl();
  private readonly stretch: boolean;

  /**
   * @param now the receiver clock (ms) that push() times use.
   * @param prefill samples the worklet holds before it plays (more than that is excess delay).
   */
  constructor(
    private readonly node: AudioWorkletNode,
    private readonly now: () => number,
    private readonly prefill: number,
    jitter?: Partial<JitterBufferOptions>,
  ) {
    this.jb = new JitterBuffer(jitter);
    this.stretch = (jitter?.stretchMs ?? 0) > 0;
    this.openDecoder();
  }

  /** One worklet tick: pull what plays in the next 20 ms. */
  tick(msg: Tick): void {
    this.counters.ringLevel = msg.level;
    this.counters.underruns = msg.underruns;
    this.counters.overflows = msg.overflows;
    if (msg.level > this.prefill && this.slots.length === 0) {
      // After a stall the ring got a burst and holds more than it needs. Skipping this pull makes
      // the jitter buffer see one frame too many and drop it: the excess delay goes away.
      this.counters.ringSkips++;
      return;
    }
    // Pulls are timed by the device clock, not by when the main thread got round to the tick, so
    // a stalled main thread does not look like a schedule change to the jitter buffer.
    const p = this.jb.pull(this.clock.toMs(msg.tick, this.now()));
    if (this.stretch) {
      const rate = this.rateControl.update(this.jb.excessMs());
      if (rate !== this.rate) {
        this.rate = rate;
        this.node.port.postMessage({ rate });
      }
    }
    if (p.kind === 'silence') return;
    if (p.kind === 'frame') this.endGap();
    else this.counters.longestGapMs = Math.max(this.counters.longestGapMs, ++this.gapRun * 20);
    if (this.slots.length >= MAX_PENDING) return; // decoder stuck: let the ring run dry, stay bounded
    if (p.kind === 'frame' && p.data.length > 0 && this.decoder) {
      this.slots.push({ decode: true });
      this.decoder.decode(
        new EncodedAudioChunk({ type: 'key', timestamp: this.ts, duration: 20_000, data: p.data }),
      );
    } else {
      // Lost, stretched, or a frame the sender could not fill (empty): conceal it.
      this.slots.push({ decode: false });
    }
    this.ts += 20_000;
    this.flush();
  }

  private endGap(): void {
    if (this.gapRun * 20 >= 60) {
      this.gaps.push({ at: Date.now(), ms: this.gapRun * 20 });
      if (this.gaps.length > 20) this.gaps.shift();
    }
    this.gapRun = 0;
  }

  close(): void {
    if (this.decoder?.state !== 'closed') this.decoder?.close();
    this.decoder = undefined;
  }

  private openDecoder(): void {
    const dec = new AudioDecoder({
      output: (a) => this.decoded(a),
      // A hostile or corrupt frame closes the decoder: conceal what was pending and start anew.
      error: () => {
        this.counters.decodeErrors++;
        for (const s of this.slots) if (s.decode && !s.pcm) s.decode = false;
        this.flush();
        this.openDecoder();
      },
    });
    dec.configure({ codec: 'opus', sampleRate: 48000, numberOfChannels: 1 });
    this.decoder = dec;
  }

  private decoded(a: AudioData): void {
    const pcm = new Float32Array(FRAME);
    // Opus gives exactly 960 samples per 20 ms frame; anything else is clipped or zero-padded.
    const n = Math.min(a.numberOfFrames, FRAME);
    if (n > 0) a.copyTo(pcm.subarray(0, n), { planeIndex: 0, frameCount: n, format: 'f32-planar' });
    a.close();
    const slot = this.slots.find((s) => s.decode && !s.pcm);
    if (!slot) return;
    slot.pcm = pcm;
    this.counters.decoded++;
    this.flush();
  }

  /** Sends finished slots to the worklet, in order. */
  private flush(): void {
    while (this.slots.length > 0) {
      const head = this.slots[0]!;
      let pcm: Float32Array;
      if (head.decode) {
        if (!head.pcm) return;
        pcm = this.concealer.good(head.pcm);
      } else {
        pcm = this.concealer.conceal();
        this.counters.concealed++;
      }
      this.slots.shift();
      this.node.port.postMessage(pcm, [pcm.buffer]);
    }
  }
}

/**
 * Maps context frames to the receiver clock. A tick is handled some time after its frame was
 * rendered, never before, so the smallest (handled - frame time) seen is the clock offset (the NTP
 * minimum filter). Two rolling windows of ~5 s let the estimate follow drift between the clocks.
 */
export class FrameClock {
  private cur = Number.POSITIVE_INFINITY;
  private prev = Number.POSITIVE_INFINITY;
  private n = 0;

  toMs(frame: number, handledAt: number): number {
    const f = frame / 48;
    this.cur = Math.min(this.cur, handledAt - f);
    if (++this.n % 250 === 0) {
      this.prev = this.cur;
      this.cur = Number.POSITIVE_INFINITY;
    }
    return f + Math.min(this.cur, this.prev);
  }
}
