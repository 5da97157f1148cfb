// Round-trip time from the media headers themselves (RTCP's LSR/DLSR idea in 4 bytes): each frame
// carries the sender's 16-bit ms clock, the peer's last clock value it received, and how long it
// held that value. No clock sync is needed; one-way delay is taken as half the round trip.
import { diff16, NO_ECHO } from './payload.ts';

export class RttMeter {
  private peerSent = NO_ECHO;
  private peerAt = 0;
  /** Smoothed round-trip time (ms); undefined until the first echo. */
  rttMs: number | undefined;

  constructor(private readonly now: () => number) {}

  /** Fields for the next outgoing frame. */
  outgoing(): { sentMs: number; echoMs: number; holdMs: number } {
    const t = this.now();
    const echo = this.peerSent;
    return { sentMs: Math.round(t) & 0xffff, echoMs: echo, holdMs: echo === NO_ECHO ? 0 : t - this.peerAt };
  }

  /** Takes the timing fields of a received frame. */
  incoming(f: { sentMs: number; echoMs: number; holdMs: number }): void {
    const t = this.now();
    this.peerSent = f.sentMs === NO_ECHO ? 0xfffe : f.sentMs;
    this.peerAt = t;
    if (f.echoMs === NO_ECHO) return;
    const rtt = diff16(Math.round(t) & 0xffff, f.echoMs) - f.holdMs;
    // A forged or stale echo must not poison the figure: only plausible samples count.
    if (rtt < 0 || rtt > 10_000) return;
    this.rttMs = this.rttMs === undefined ? rtt : this.rttMs + (rtt - this.rttMs) / 8;
  }
}
