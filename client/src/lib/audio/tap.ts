// Records what a session captured and played, each 20 ms block stamped with its AudioContext frame
// (one clock for both), for the end-to-end correlation test and the latency benchmark. Bounded.

export interface TapTrack {
  /** Context frame of the first recorded sample, and the samples (gaps filled with zeros). */
  startFrame: number;
  pcm: Float32Array;
}

class Track {
  private readonly buf: Float32Array;
  private start: number | undefined;
  private end = 0;

  constructor(maxSamples: number) {
    this.buf = new Float32Array(maxSamples);
  }

  add(pcm: Float32Array, frame: number): void {
    this.start ??= frame;
    const at = frame - this.start;
    if (at < 0 || at + pcm.length > this.buf.length) return; // full: keep the beginning
    this.buf.set(pcm, at);
    this.end = Math.max(this.end, at + pcm.length);
  }

  get(): TapTrack {
    return { startFrame: this.start ?? 0, pcm: this.buf.slice(0, this.end) };
  }
}

export class AudioTap {
  private readonly in: Track;
  private readonly out: Track;
  /**
   * Wall-clock time (epoch ms) of context frame 0, as early as any block arrived: lets a benchmark put
   * two pages' tracks on one clock. Every block, in both tracks, is posted when its 20 ms are complete,
   * so the bias (a block's length plus the message's delay) is the same on every page and cancels.
   */
  private frameZeroMs = Number.POSITIVE_INFINITY;

  constructor(seconds: number) {
    this.in = new Track(seconds * 48000);
    this.out = new Track(seconds * 48000);
  }

  input(pcm: Float32Array, frame: number): void {
    this.in.add(pcm, frame);
    this.stamp(frame);
  }

  output(pcm: Float32Array, frame: number): void {
    this.out.add(pcm, frame);
    this.stamp(frame);
  }

  private stamp(frame: number): void {
    const zero = performance.timeOrigin + performance.now() - (frame * 1000) / 48000;
    if (zero < this.frameZeroMs) this.frameZeroMs = zero;
  }

  tracks(): { input: TapTrack; output: TapTrack; frameZeroMs: number } {
    return { input: this.in.get(), output: this.out.get(), frameZeroMs: this.frameZeroMs };
  }
}
