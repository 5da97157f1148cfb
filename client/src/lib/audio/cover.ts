// Cover traffic: while no call runs, ask the onion for ONION COVER at a call's packet rate with a
// call packet's size, so the links of an idle peer look like those of a calling one (the onion
// echoes cover back from a random destination, as the callee's media would come back).
//
// Pacing is drift-free (counted from the start time), and a late timer never bursts more than a
// few packets: a burst would itself be a tell. Browsers throttle timers in background tabs, so
// `workerTicker` runs the clock in a dedicated worker, which is not throttled that way.
import { PAYLOAD_SIZE } from './payload.ts';

/**
 * Bytes of the ONION TUNNEL DATA body that carries one media payload in a call: the call layer's
 * sealed frame = magic, kind (2) + call id (8) + counter (8) + MEDIA tag (1) + payload + AEAD tag (16).
 * See client/src/lib/calls/wire.ts and frames.ts. Keep the two in step (docs/audio.md).
 */
export const CALL_DATA_SIZE = 2 + 8 + 8 + 1 + PAYLOAD_SIZE + 16;

export type Ticker = (cb: () => void, intervalMs: number) => () => void;

export const timerTicker: Ticker = (cb, ms) => {
  const id = setInterval(cb, ms);
  return () => clearInterval(id);
};

/** Ticks from a dedicated worker (falls back to timers if workers or Blob URLs are unavailable). */
export const workerTicker: Ticker = (cb, ms) => {
  try {
    const src = `setInterval(() => postMessage(0), ${Number(ms)});`;
    const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
    const w = new Worker(url);
    w.onmessage = cb;
    return () => {
      w.terminate();
      URL.revokeObjectURL(url);
    };
  } catch {
    return timerTicker(cb, ms);
  }
};

export interface CoverSenderOptions {
  /** Sends ONION COVER with this cover size (the call layer's / bridge's job). */
  sendCover: (coverSize: number) => void;
  /** Checked before every packet: false while a tunnel is being built or is READY (spec 4.6.7). */
  allowed?: () => boolean;
  coverSize?: number;
  intervalMs?: number;
  maxBurst?: number;
  ticker?: Ticker;
  now?: () => number;
}

export class CoverSender {
  private stopTicker: (() => void) | undefined;
  private t0 = 0;
  private due = 0;
  sent = 0;
  skipped = 0;
  private readonly o: Required<CoverSenderOptions>;

  constructor(opts: CoverSenderOptions) {
    this.o = {
      allowed: () => true,
      coverSize: CALL_DATA_SIZE,
      intervalMs: 20,
      maxBurst: 3,
      ticker: timerTicker,
      now: () => performance.now(),
      ...opts,
    };
  }

  get running(): boolean {
    return this.stopTicker !== undefined;
  }

  start(): void {
    if (this.stopTicker) return;
    this.t0 = this.o.now();
    this.due = 0;
    // Tick faster than the packet rate so timer jitter does not turn into packet-rate jitter.
    this.stopTicker = this.o.ticker(() => this.tick(), this.o.intervalMs / 2);
  }

  stop(): void {
    this.stopTicker?.();
    this.stopTicker = undefined;
  }

  private tick(): void {
    const target = Math.floor((this.o.now() - this.t0) / this.o.intervalMs) + 1;
    let n = target - this.due;
    if (n > this.o.maxBurst) {
      this.skipped += n - this.o.maxBurst; // the clock stalled: skip the backlog, don't burst
      this.due += n - this.o.maxBurst;
      n = this.o.maxBurst;
    }
    for (let i = 0; i < n; i++) {
      this.due++;
      if (!this.o.allowed()) continue;
      this.o.sendCover(this.o.coverSize);
      this.sent++;
    }
  }
}
