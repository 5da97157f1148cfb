// The two AudioWorklet processors. `workletMain` must not reference anything outside its own body:
// it is both bundled as the worklet file (processors.worklet.ts) and, as a fallback, stringified
// into a Blob URL (see worklet.ts).
//
// voice-capture: collects the microphone into 20 ms frames (960 samples at 48 kHz) and posts each
//   with the context frame of its first sample (the capture clock paces the whole send side).
// voice-playback: plays a bounded ring of decoded PCM, posts a `tick` every 960 rendered samples
//   (the device clock paces the jitter buffer's pulls), and with `tap` also posts what it played.
//   At a `rate` a hair off 1 (playout.ts playbackRate) it reads the ring interpolated and ticks
//   per 960 samples consumed, so the playout delay glides instead of stepping by whole frames.

declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, ctor: unknown): void;
declare const currentFrame: number;

export function workletMain(): void {
  const FRAME = 960;

  class Capture extends AudioWorkletProcessor {
    private buf = new Float32Array(FRAME);
    private fill = 0;
    private startFrame = 0;
    private alive = true;

    constructor() {
      super();
      this.port.onmessage = (e: MessageEvent) => {
        if (e.data === 'stop') this.alive = false;
      };
    }

    process(inputs: Float32Array[][]): boolean {
      const ch = inputs[0]?.[0];
      const n = ch ? ch.length : 128;
      for (let i = 0; i < n; i++) {
        if (this.fill === 0) this.startFrame = currentFrame + i;
        this.buf[this.fill++] = ch ? ch[i]! : 0;
        if (this.fill === FRAME) {
          this.port.postMessage({ pcm: this.buf, frame: this.startFrame }, [this.buf.buffer]);
          this.buf = new Float32Array(FRAME);
          this.fill = 0;
        }
      }
      return this.alive;
    }
  }

  interface PlaybackOptions {
    prefill: number;
    maxBuffered: number;
    tap: boolean;
  }

  class Playback extends AudioWorkletProcessor {
    private readonly ring: Float32Array;
    private read = 0;
    private level = 0;
    private playing = false;
    private underruns = 0;
    private overflows = 0;
    private tapBuf = new Float32Array(FRAME);
    private tapFill = 0;
    private tapFrame = 0;
    private alive = true;
    private readonly o: PlaybackOptions;
    /** Ring samples consumed per output sample (1 ± 0.02 while the delay glides) and the phase. */
    private rate = 1;
    private frac = 0;
    private consumed = 0;

    constructor(opts: { processorOptions?: Partial<PlaybackOptions> }) {
      super();
      this.o = { prefill: 1536, maxBuffered: 8 * FRAME, tap: false, ...opts.processorOptions };
      this.ring = new Float32Array(this.o.maxBuffered + FRAME);
      this.port.onmessage = (e: MessageEvent) => {
        if (e.data === 'stop') this.alive = false;
        else if (e.data instanceof Float32Array) this.write(e.data);
        else if (typeof e.data?.rate === 'number' && Math.abs(e.data.rate - 1) <= 0.05)
          this.rate = e.data.rate;
      };
    }

    private write(pcm: Float32Array): void {
      const cap = this.ring.length;
      for (let i = 0; i < pcm.length; i++) this.ring[(this.read + this.level + i) % cap] = pcm[i]!;
      this.level += pcm.length;
      if (this.level > this.o.maxBuffered) {
        // Bounded: drop the oldest audio rather than let the delay grow.
        const drop = this.level - this.o.maxBuffered;
        this.read = (this.read + drop) % cap;
        this.level -= drop;
        this.overflows++;
      }
    }

    process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
      const out = outputs[0]![0]!;
      // Samples this quantum reads at the current rate, plus one for the interpolation.
      const need = Math.ceil(out.length * this.rate + this.frac) + 1;
      if (!this.playing && this.level >= Math.max(this.o.prefill, need)) this.playing = true;
      if (this.playing && this.level < need) {
        this.playing = false; // underrun: play silence until the ring is primed again
        this.underruns++;
      }
      const before = Math.floor(this.consumed / FRAME);
      if (this.playing) {
        const cap = this.ring.length;
        if (this.rate === 1 && this.frac === 0) {
          for (let i = 0; i < out.length; i++) out[i] = this.ring[(this.read + i) % cap]!;
          this.read = (this.read + out.length) % cap;
          this.level -= out.length;
          this.consumed += out.length;
        } else {
          // Linear interpolation at a rate a hair off 1: the delay glides by <= 2 % of the time.
          for (let i = 0; i < out.length; i++) {
            const a = this.ring[this.read]!;
            const b = this.ring[(this.read + 1) % cap]!;
            out[i] = a + (b - a) * this.frac;
            this.frac += this.rate;
            const step = Math.floor(this.frac);
            this.frac -= step;
            this.read = (this.read + step) % cap;
            this.level -= step;
            this.consumed += step;
          }
        }
      } else {
        out.fill(0);
      }
      for (let c = 1; c < outputs[0]!.length; c++) outputs[0]![c]!.set(out);
      if (this.o.tap) this.tapOut(out);
      // One tick per frame's worth of samples consumed (not rendered): playing fast pulls sooner,
      // so the jitter buffer sees its delay come down smoothly. While silent (not playing), the
      // device clock paces the ticks.
      if (!this.playing) this.consumed += out.length;
      if (Math.floor(this.consumed / FRAME) !== before) {
        this.port.postMessage({
          tick: currentFrame,
          level: this.level,
          underruns: this.underruns,
          overflows: this.overflows,
        });
      }
      return this.alive;
    }

    private tapOut(out: Float32Array): void {
      for (let i = 0; i < out.length; i++) {
        if (this.tapFill === 0) this.tapFrame = currentFrame + i;
        this.tapBuf[this.tapFill++] = out[i]!;
        if (this.tapFill === FRAME) {
          this.port.postMessage({ tap: this.tapBuf, frame: this.tapFrame }, [this.tapBuf.buffer]);
          this.tapBuf = new Float32Array(FRAME);
          this.tapFill = 0;
        }
      }
    }
  }

  registerProcessor('voice-capture', Capture);
  registerProcessor('voice-playback', Playback);
}
