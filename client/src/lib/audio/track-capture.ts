// Capture straight from the microphone track (issue 17): MediaStreamTrackProcessor hands over the
// track's AudioData (10 ms blocks in Chromium) without the AudioContext's source node, its FIFO and
// the capture worklet's hop to the main thread. The blocks are cut into the encoder's 20 ms frames
// by FrameChunker (pure, unit-tested). Used when `VoiceSessionOptions.capture` is 'track' and the
// browser has MediaStreamTrackProcessor; else the worklet captures (worklet-main.ts).

export const FRAME = 960; // 20 ms at 48 kHz

/**
 * Cuts blocks of any size into frames of `frame` samples. Holds less than one frame (bounded);
 * each frame is a new array (the encoder may keep it). `at` is the capture clock of a block's first
 * sample (in samples); a frame carries the clock of its own first sample. A block that does not
 * start where the last one ended (the track dropped or repeated audio) starts a new frame: the
 * partial one is dropped rather than spliced across the discontinuity, and counted.
 */
export class FrameChunker {
  private buf: Float32Array;
  private fill = 0;
  private startAt = 0;
  private nextAt: number | undefined;
  discontinuities = 0;

  constructor(
    private readonly emit: (pcm: Float32Array, at: number) => void,
    private readonly frame = FRAME,
    /** Clock error (samples) still taken as continuous: timestamps are rounded µs. */
    private readonly slack = 2,
  ) {
    this.buf = new Float32Array(frame);
  }

  push(pcm: Float32Array, at: number): void {
    if (this.nextAt !== undefined && Math.abs(at - this.nextAt) > this.slack) {
      this.discontinuities++;
      this.fill = 0;
    }
    this.nextAt = at + pcm.length;
    let i = 0;
    while (i < pcm.length) {
      if (this.fill === 0) this.startAt = at + i;
      const n = Math.min(pcm.length - i, this.frame - this.fill);
      this.buf.set(pcm.subarray(i, i + n), this.fill);
      this.fill += n;
      i += n;
      if (this.fill === this.frame) {
        const out = this.buf;
        this.buf = new Float32Array(this.frame);
        this.fill = 0;
        this.emit(out, this.startAt);
      }
    }
  }
}

interface TrackProcessor {
  readable: ReadableStream<AudioData>;
}
type TrackProcessorCtor = new (o: { track: MediaStreamTrack; maxBufferSize?: number }) => TrackProcessor;

function processorCtor(): TrackProcessorCtor | undefined {
  return (globalThis as unknown as { MediaStreamTrackProcessor?: TrackProcessorCtor })
    .MediaStreamTrackProcessor;
}

/** The browser can capture from the track (Chromium: MediaStreamTrackProcessor on the page). */
export function trackCaptureSupported(): boolean {
  return !!processorCtor() && typeof AudioData !== 'undefined';
}

/**
 * Reads 48 kHz mono frames from `track` until stopped. `onFrame(pcm, at)`: `at` in samples of the
 * track's clock (AudioData timestamps). A block at another rate ends the capture with `onError`
 * (the session then falls back to the worklet).
 */
export class TrackCapture {
  private reader: ReadableStreamDefaultReader<AudioData> | undefined;
  private stopped = false;
  readonly chunker: FrameChunker;

  constructor(
    track: MediaStreamTrack,
    onFrame: (pcm: Float32Array, at: number) => void,
    private readonly onError: (e: Error) => void,
  ) {
    this.chunker = new FrameChunker(onFrame);
    const Ctor = processorCtor();
    if (!Ctor) throw new Error('MediaStreamTrackProcessor is not available');
    // A small buffer: if the page stalls, old audio is dropped rather than sent late.
    this.reader = new Ctor({ track, maxBufferSize: 8 }).readable.getReader();
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopped && this.reader) {
        const { value: d, done } = await this.reader.read();
        if (done || !d) break;
        try {
          this.take(d);
        } finally {
          d.close();
        }
      }
    } catch (e) {
      if (!this.stopped) this.onError(e as Error);
    }
  }

  private take(d: AudioData): void {
    if (d.sampleRate !== 48000) throw new Error(`track captures at ${d.sampleRate} Hz, not 48000`);
    const pcm = new Float32Array(d.numberOfFrames);
    d.copyTo(pcm, { planeIndex: 0, format: 'f32-planar' });
    this.chunker.push(pcm, Math.round((d.timestamp * 48000) / 1e6));
  }

  stop(): void {
    this.stopped = true;
    void this.reader?.cancel().catch(() => {});
    this.reader = undefined;
  }
}
