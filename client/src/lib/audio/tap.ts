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

  constructor(seconds: number) {
    this.in = new Track(seconds * 48000);
    this.out = new Track(seconds * 48000);
  }

  input(pcm: Float32Array, frame: number): void {
    this.in.add(pcm, frame);
  }

  output(pcm: Float32Array, frame: number): void {
    this.out.add(pcm, frame);
  }

  tracks(): { input: TapTrack; output: TapTrack } {
    return { input: this.in.get(), output: this.out.get() };
  }
}
