// The Onion API, as the call manager needs it, over the bridge connection.
import { bytesEqual } from '../crypto/bytes.ts';
import type { BridgeConnection } from '../bridge/connection.ts';
import type { OnionPort } from '../calls/manager.ts';

export class BridgeOnionPort implements OnionPort {
  /** BUILDs run one at a time so each READY/ERROR answers exactly one request. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly incomingCbs = new Set<(id: number) => void>();
  private readonly dataCbs = new Set<(id: number, d: Uint8Array) => void>();
  private readonly errorCbs = new Set<(id: number) => void>();
  private readonly off: () => void;
  /** Tunnels (ours and incoming) this connection knows: status for the UI. */
  readonly tunnels = new Map<number, 'outgoing' | 'incoming'>();
  private readonly changeCbs = new Set<() => void>();

  constructor(
    private readonly conn: BridgeConnection,
    private readonly buildTimeoutMs: () => number,
  ) {
    this.off = conn.onMessage((m) => {
      if (m.type === 562) {
        this.track(m.tunnelId, 'incoming');
        for (const cb of [...this.incomingCbs]) cb(m.tunnelId);
      } else if (m.type === 564) {
        for (const cb of [...this.dataCbs]) cb(m.tunnelId, m.data);
      } else if (m.type === 565 && m.tunnelId !== 0 && m.requestType !== 560) {
        for (const cb of [...this.errorCbs]) cb(m.tunnelId);
      }
    });
  }

  build(dest: { host: string; port: number; spki: Uint8Array }): Promise<number> {
    const run = () => this.buildNow(dest);
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => {});
    return p;
  }

  private buildNow(dest: { host: string; port: number; spki: Uint8Array }): Promise<number> {
    return new Promise((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        off();
        fn();
      };
      const timer = setTimeout(
        () => done(() => reject(new Error('The tunnel was not built in time.'))),
        this.buildTimeoutMs(),
      );
      const off = this.conn.onMessage((m) => {
        if (m.type === 561 && bytesEqual(m.hostkey, dest.spki)) {
          this.track(m.tunnelId, 'outgoing');
          done(() => resolve(m.tunnelId));
        } else if (m.type === 565 && m.requestType === 560) {
          done(() => reject(new Error('The network could not build a tunnel to your friend.')));
        }
      });
      if (!this.conn.send({ type: 560, address: dest.host, port: dest.port, hostkey: dest.spki })) {
        done(() => reject(new Error('Not connected to your relay.')));
      }
    });
  }

  send(tunnelId: number, data: Uint8Array): void {
    this.conn.send({ type: 564, tunnelId, data });
  }

  destroy(tunnelId: number): void {
    this.conn.send({ type: 563, tunnelId });
    if (this.tunnels.delete(tunnelId)) this.emit();
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
