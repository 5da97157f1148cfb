// Packet loss concealment in the time domain. WebCodecs' AudioDecoder exposes neither libopus PLC
// (an empty chunk is an error in Chromium) nor decode_fec, so a lost frame is rebuilt here, the
// way ITU-T G.711 Appendix I does: repeat the last pitch period of the voice, fade it out over
// successive lost frames, and cross-fade back into the first real frame after the gap.

const FADE_PER_FRAME = 0.8; // each further concealed frame is 20% quieter (silent after ~12)
const MIN_PITCH = 48000 / 400; // 400 Hz
const MAX_PITCH = 48000 / 60; // 60 Hz
const XFADE = 96; // 2 ms at 48 kHz

export class Concealer {
  private readonly history: Float32Array;
  private run = 0;
  /** Where the repeated pitch period continues, and the period itself, during a run. */
  private pos = 0;
  private period = 0;
  private tail: Float32Array | undefined;

  constructor(readonly frameSize = 960) {
    this.history = new Float32Array(Math.max(2 * MAX_PITCH, frameSize));
  }

  /** Feeds a real decoded frame; returns it, cross-faded from the concealment tail after a gap. */
  good(pcm: Float32Array): Float32Array {
    if (this.run > 0 && this.tail) {
      const n = Math.min(XFADE, pcm.length, this.tail.length);
      for (let i = 0; i < n; i++) {
        const w = i / n;
        pcm[i] = pcm[i]! * w + this.tail[i]! * (1 - w);
      }
    }
    this.run = 0;
    this.tail = undefined;
    this.remember(pcm);
    return pcm;
  }

  /** Produces one concealment frame. */
  conceal(): Float32Array {
    const out = new Float32Array(this.frameSize);
    if (this.run === 0) {
      this.period = this.pitch();
      this.pos = 0;
    }
    const h = this.history;
    const start = h.length - this.period;
    const gain0 = FADE_PER_FRAME ** this.run;
    const gain1 = FADE_PER_FRAME ** (this.run + 1);
    // One extra XFADE of samples: the tail the next real frame fades in from.
    const total = this.frameSize + XFADE;
    const ext = new Float32Array(total);
    for (let i = 0; i < total; i++) {
      const g = gain0 + ((gain1 - gain0) * Math.min(i, this.frameSize)) / this.frameSize;
      ext[i] = h[start + ((this.pos + i) % this.period)]! * g;
    }
    if (this.run === 0) {
      // Smooth the seam between the last real sample and the repeated period.
      const last = h[h.length - 1]!;
      const n = Math.min(XFADE, this.frameSize);
      for (let i = 0; i < n; i++) ext[i] = ext[i]! * (i / n) + last * (1 - i / n);
    }
    out.set(ext.subarray(0, this.frameSize));
    this.tail = ext.subarray(this.frameSize);
    this.pos = (this.pos + this.frameSize) % this.period;
    this.run++;
    return out;
  }

  private remember(pcm: Float32Array): void {
    const h = this.history;
    if (pcm.length >= h.length) {
      h.set(pcm.subarray(pcm.length - h.length));
    } else {
      h.copyWithin(0, pcm.length);
      h.set(pcm, h.length - pcm.length);
    }
  }

  /** Pitch period (samples) by normalized autocorrelation of the last 20 ms of history. */
  private pitch(): number {
    const h = this.history;
    const win = 480;
    const end = h.length;
    let best = MIN_PITCH;
    let bestScore = -1;
    for (let lag = MIN_PITCH; lag <= MAX_PITCH && lag + win <= end; lag += 2) {
      let xy = 0;
      let yy = 0;
      for (let i = end - win; i < end; i++) {
        xy += h[i]! * h[i - lag]!;
        yy += h[i - lag]! * h[i - lag]!;
      }
      const score = yy > 0 ? xy / Math.sqrt(yy) : 0;
      if (score > bestScore) {
        bestScore = score;
        best = lag;
      }
    }
    return best;
  }
}
