// The figures a person reads during a call, and the recent-loss window behind the loss figure.

export interface CallStats {
  durationMs: number;
  /** Round trip through both tunnels (ms), from the media headers' echo. */
  rttMs: number | undefined;
  /** Estimated mouth-to-ear delay (ms): capture + rtt/2 + jitter buffer + playback ring + device. */
  latencyMs: number | undefined;
  /** Parts of latencyMs the bench checks against what is heard: the playback ring and the device. */
  ringMs?: number;
  outputMs?: number;
  /** RFC 3550 interarrival jitter (ms). */
  jitterMs: number;
  /** Frames lost over the last ~5 s (%). */
  lossPct: number;
  bufferMs: number;
  targetMs: number;
  sent: number;
  received: number;
  lost: number;
  late: number;
  concealed: number;
  underruns: number;
  /** Longest run of concealment (ms), e.g. across a round switch-over. */
  longestGapMs: number;
  badPayloads: number;
  muted: boolean;
  peerMuted: boolean;
  /** False when no microphone opened: the session sends coded silence (the peer hears nothing). */
  micOk: boolean;
  /** Time since the last frame came from the peer (ms; the call's age while none came yet). */
  silentForMs: number;
  /**
   * Who plays the peer: our worklet, or WebRTC's NetEq (VoiceSession `playout`); with NetEq the
   * buffer, concealment and longest gap are NetEq's (the gap: most concealed in half a second).
   */
  playout?: 'worklet' | 'neteq';
}

export interface Quality {
  word: string;
  cls: 'wait' | 'good' | 'fair' | 'poor';
  /** Why, when not good: what the person should know. */
  why?: string;
}

/** Nothing from the peer for this long and the call is one-way, whatever the other figures say. */
export const ONE_WAY_MS = 2000;

/**
 * The badge a person reads. It must never say "Good" while a side hears nothing: no microphone
 * (the friend hears silence), nothing arriving from the friend (one-way audio), or heavy loss.
 * ITU-T G.114: up to ~150 ms one way is not noticed; past 400 ms talk gets hard.
 */
export function callQuality(s: CallStats): Quality {
  if (!s.micOk) return { word: 'One-way', cls: 'poor', why: 'no microphone: your friend hears silence' };
  if (s.silentForMs >= ONE_WAY_MS && s.durationMs >= ONE_WAY_MS)
    return { word: 'One-way', cls: 'poor', why: "nothing arrives from your friend: you can't hear them" };
  if (s.latencyMs === undefined) return { word: 'Measuring…', cls: 'wait' };
  if (s.lossPct > 10 || s.latencyMs > 400) return { word: 'Poor', cls: 'poor' };
  if (s.lossPct > 3 || s.latencyMs > 200) return { word: 'Fair', cls: 'fair' };
  return { word: 'Good', cls: 'good' };
}

/** Loss over a sliding window of ~5 s, from cumulative lost/played counters sampled over time. */
export class LossWindow {
  private readonly samples: { t: number; lost: number; played: number }[] = [];

  sample(lost: number, played: number, t: number): void {
    const last = this.samples[this.samples.length - 1];
    if (!last || t - last.t >= 500) this.samples.push({ t, lost, played });
    else Object.assign(last, { lost, played });
    while (this.samples.length > 11) this.samples.shift();
  }

  percent(): number {
    if (this.samples.length < 2) return 0;
    const a = this.samples[0]!;
    const b = this.samples[this.samples.length - 1]!;
    const total = b.lost - a.lost + (b.played - a.played);
    return total > 0 ? (100 * (b.lost - a.lost)) / total : 0;
  }
}

/** "m:ss" for the call timer. */
export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
