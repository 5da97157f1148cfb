// The Onion API, as the call manager needs it, over the bridge connection. Also tells the cover
// sender when ONION COVER is legal: spec 4.6.7 forbids it while Onion has answered READY for a
// tunnel of ours that is not destroyed, and the relay closes the connection if we send it then.
import { bytesEqual } from '../crypto/bytes.ts';
import type { BridgeConnection } from '../bridge/connection.ts';
import type { OnionPort } from '../calls/manager.ts';

/** Our own READY tunnels held at once; more are destroyed at once (the relay caps them lower). */
const MAX_READY = 64;

interface Waiter {
  spki: Uint8Array;
  resolve: (id: number) => void;
  reject: (e: Error) => void;
}

export class BridgeOnionPort implements OnionPort {
  /** BUILDs run one at a time so each READY/ERROR answers exactly one request. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly incomingCbs = new Set<(id: number) => void>();
  private readonly dataCbs = new Set<(id: number, d: Uint8Array) => void>();
  private readonly errorCbs = new Set<(id: number) => void>();
  private readonly off: () => void;
  /** Tunnels (ours and incoming) this connection knows: status for the UI. */
  readonly tunnels = new Map<number, 'outgoing' | 'incoming'>();
  /** Our tunnels Onion answered READY for and we have not destroyed: COVER is illegal meanwhile. */
  private readonly ready = new Set<number>();
  /**
   * BUILDs sent and not yet answered (READY or ERROR). Counted apart from the waiter: a BUILD we
   * stopped waiting for can still be answered READY, which then answers that one, not ours.
   */
  private unanswered = 0;
  private waiter: Waiter | null = null;
  private buildSentAt = 0;
  /** When the last BUILD answered READY was sent (Date.now()) and how long its READY took (ms). */
  lastBuild: { at: number; ms: number } | undefined;
  private readonly changeCbs = new Set<() => void>();

  constructor(
    private readonly conn: BridgeConnection,
    private readonly buildTimeoutMs: () => number,
  ) {
    this.off = conn.onMessage((m) => {
      if (m.type === 561) {
        this.onReady(m.tunnelId, m.hostkey);
      } else if (m.type === 562) {
        this.track(m.tunnelId, 'incoming');
        for (const cb of [...this.incomingCbs]) cb(m.tunnelId);
      } else if (m.type === 564) {
        for (const cb of [...this.dataCbs]) cb(m.tunnelId, m.data);
      } else if (m.type === 565 && m.requestType === 560) {
        this.unanswered = Math.max(0, this.unanswered - 1);
        this.settle((w) => w.reject(new Error('The network could not build a tunnel to your friend.')));
      } else if (m.type === 565 && m.tunnelId !== 0) {
        for (const cb of [...this.errorCbs]) cb(m.tunnelId);
      }
    });
  }

  /**
   * True when ONION COVER may be sent: no READY tunnel of ours is held (spec 4.6.7). A BUILD
   * waiting for its answer does not stop it: with build_in_slot that wait lasts up to a round, and
   * cover must go on meanwhile (no hole before a call). A COVER sent just before a READY reached us
   * crosses it; our relay drops such COVER (it counts a READY tunnel only once we have named it in
   * a DATA or DESTROY). Incoming tunnels do not count (they carry no READY). The relay handles API
   * messages in order, so COVER sent after our DESTROY is legal.
   */
  coverAllowed(): boolean {
    return this.ready.size === 0;
  }

  build(dest: { host: string; port: number; spki: Uint8Array }): Promise<number> {
    const run = () => this.buildNow(dest);
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => {});
    return p;
  }

  private buildNow(dest: { host: string; port: number; spki: Uint8Array }): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.settle((w) => w.reject(new Error('The tunnel was not built in time.'))),
        this.buildTimeoutMs(),
      );
      const done =
        <T>(fn: (v: T) => void) =>
        (v: T) => {
          clearTimeout(timer);
          fn(v);
        };
      // Counted before the send: from here on the cover sender holds back (see coverAllowed).
      this.unanswered++;
      this.buildSentAt = Date.now();
      this.waiter = { spki: dest.spki, resolve: done(resolve), reject: done(reject) };
      if (!this.conn.send({ type: 560, address: dest.host, port: dest.port, hostkey: dest.spki })) {
        this.unanswered--;
        this.settle((w) => w.reject(new Error('Not connected to your relay.')));
      }
    });
  }

  private onReady(tunnelId: number, hostkey: Uint8Array): void {
    const w = this.waiter;
    const ours = !!w && bytesEqual(hostkey, w.spki);
    // A READY for another destination answers an earlier BUILD we gave up on, if there is one;
    // otherwise it answers nothing, and the BUILD we wait for is still open.
    if (ours || !w || this.unanswered > 1) this.unanswered = Math.max(0, this.unanswered - 1);
    if (!ours || this.ready.size >= MAX_READY) {
      // Nobody waits for it (its BUILD timed out) or it is not what we asked for: give it back.
      this.conn.send({ type: 563, tunnelId });
      if (ours) this.settle((x) => x.reject(new Error('Too many tunnels are open.')));
      else this.emit();
      return;
    }
    this.ready.add(tunnelId);
    this.lastBuild = { at: this.buildSentAt, ms: Date.now() - this.buildSentAt };
    this.track(tunnelId, 'outgoing');
    this.settle((x) => x.resolve(tunnelId));
  }

  private settle(fn: (w: Waiter) => void): void {
    const w = this.waiter;
    this.waiter = null;
    if (w) fn(w);
    this.emit();
  }

  send(tunnelId: number, data: Uint8Array): void {
    this.conn.send({ type: 564, tunnelId, data });
  }

  destroy(tunnelId: number): void {
    this.conn.send({ type: 563, tunnelId });
    this.ready.delete(tunnelId);
    this.tunnels.delete(tunnelId);
    this.emit();
  }

  onIncoming(cb: (id: number) => void): () => void {
    this.incomingCbs.add(cb);
    return () => this.incomingCbs.delete(cb);
  }

  onData(cb: (id: number, d: Uint8Array) => void): () => void {
    this.dataCbs.add(cb);
    return () => this.dataCbs.delete(cb);
  }

  onTunnelError(cb: (id: number) => void): () => void {
    this.errorCbs.add(cb);
    return () => this.errorCbs.delete(cb);
  }

  onChange(cb: () => void): () => void {
    this.changeCbs.add(cb);
    return () => this.changeCbs.delete(cb);
  }

  stop(): void {
    this.off();
    this.settle((w) => w.reject(new Error('Not connected to your relay.')));
  }

  private track(id: number, dir: 'outgoing' | 'incoming'): void {
    if (this.tunnels.size >= 256) return;
    this.tunnels.set(id, dir);
    this.emit();
  }

  private emit(): void {
    for (const cb of [...this.changeCbs]) cb();
  }
}
