// The figures a person reads during a call, and the recent-loss window behind the loss figure.

export interface CallStats {
  durationMs: number;
  /** Round trip through both tunnels (ms), from the media headers' echo. */
  rttMs: number | undefined;
  /** Estimated mouth-to-ear delay (ms): capture + rtt/2 + jitter buffer + playback ring + device. */
  latencyMs: number | undefined;
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
