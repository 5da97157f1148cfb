// The browser's side of the bridge: one WebSocket carrying API messages (binary) and the JSON
// control protocol (text). Reconnects with backoff; every request has a timeout.
import { decodeMessage, encodeMessage } from '../../../../shared/wire/index.ts';
import type { ApiMessage } from '../../../../shared/wire/types.ts';
import { fromBase64Url, toBase64Url } from '../crypto/b64.ts';
import type { SignPurpose } from '../../../../shared/sign-domains.ts';

export interface Hello {
  identity: string;
  hostkey: Uint8Array;
  onion: { host: string; port: number } | null;
  roundSeconds: number;
  /** Relay clock minus browser clock (ms), measured at hello. */
  clockOffsetMs: number;
  modules: { gossip: boolean; onion: boolean };
}

export type BridgeStatus = 'connecting' | 'open' | 'closed';

const SIGN_TIMEOUT_MS = 10_000;
const MAX_PENDING_SIGNS = 64;

export function parseHello(m: Record<string, unknown>): Hello {
  const round = m.round as { seconds?: unknown } | undefined;
  const onion = m.onion as { host?: unknown; port?: unknown } | null;
  if (typeof m.identity !== 'string' || typeof m.hostkey !== 'string' || typeof round?.seconds !== 'number') {
    throw new Error('bad hello from the relay');
  }
  return {
    identity: m.identity,
    hostkey: fromBase64Url(m.hostkey),
    onion:
      onion && typeof onion.host === 'string' && typeof onion.port === 'number'
        ? { host: onion.host, port: onion.port }
        : null,
    roundSeconds: round.seconds,
    clockOffsetMs: typeof m.now === 'number' ? m.now - Date.now() : 0,
    modules: {
      gossip: !!(m.modules as Record<string, boolean>)?.gossip,
      onion: !!(m.modules as Record<string, boolean>)?.onion,
    },
  };
}

export class BridgeConnection {
  status: BridgeStatus = 'connecting';
  lastError = '';
  hello: Hello | null = null;
  private ws: WebSocket | null = null;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (s: Uint8Array) => void; reject: (e: Error) => void }
  >();
  private readonly msgCbs = new Set<(m: ApiMessage) => void>();
  private readonly statusCbs = new Set<(s: BridgeStatus, hello: Hello | null) => void>();
  private retryMs = 1000;
  private stopped = false;

  constructor(private readonly url: string) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.ws?.close(1000, 'bye');
  }

  onMessage(cb: (m: ApiMessage) => void): () => void {
    this.msgCbs.add(cb);
    return () => this.msgCbs.delete(cb);
  }

  /** Status changes; `hello` is set on each (re)connection. */
  onStatus(cb: (s: BridgeStatus, hello: Hello | null) => void): () => void {
    this.statusCbs.add(cb);
    return () => this.statusCbs.delete(cb);
  }

  send(m: ApiMessage): boolean {
    if (this.status !== 'open' || !this.ws) return false;
    this.ws.send(encodeMessage(m) as Uint8Array<ArrayBuffer>);
    return true;
  }

  sign(purpose: SignPurpose, data: Uint8Array): Promise<Uint8Array> {
    if (this.status !== 'open' || !this.ws) return Promise.reject(new Error('not connected to your relay'));
    if (this.pending.size >= MAX_PENDING_SIGNS)
      return Promise.reject(new Error('too many signatures pending'));
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ t: 'sign', id, purpose, data: toBase64Url(data) }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error('the relay did not sign in time'));
      }, SIGN_TIMEOUT_MS);
      this.pending.set(id, {
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  private setStatus(s: BridgeStatus): void {
    this.status = s;
    for (const cb of [...this.statusCbs]) cb(s, this.hello);
  }

  private open(): void {
    this.hello = null;
    this.setStatus('connecting');
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onmessage = (ev) => this.onFrame(ev.data);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.lastError = ev.code === 1000 ? '' : explainClose(ev.code, ev.reason);
      for (const p of this.pending.values()) p.reject(new Error('connection to your relay closed'));
      this.pending.clear();
      this.hello = null;
      this.setStatus('closed');
      if (!this.stopped) {
        setTimeout(() => !this.stopped && this.open(), this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, 10_000);
      }
    };
  }

  private onFrame(data: unknown): void {
    if (data instanceof ArrayBuffer) {
      let m: ApiMessage;
      try {
        m = decodeMessage(new Uint8Array(data));
      } catch {
        return; // the bridge only forwards what a module sent; drop anything undecodable
      }
      for (const cb of [...this.msgCbs]) cb(m);
      return;
    }
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(String(data));
    } catch {
      return;
    }
    if (m.t === 'hello') {
      this.hello = parseHello(m);
      this.retryMs = 1000;
      this.lastError = '';
      this.setStatus('open');
    } else if (m.t === 'signed' || m.t === 'error') {
      const p = this.pending.get(Number(m.id));
      if (!p) return;
      this.pending.delete(Number(m.id));
      if (m.t === 'signed' && typeof m.sig === 'string') p.resolve(fromBase64Url(m.sig));
      else
        p.reject(
          new Error(
            m.code === 'rate-limited'
              ? 'your relay is busy; try again'
              : m.code === 'refused'
                ? 'your relay refused to sign this (is the clock of this computer right?)'
                : `relay error: ${String(m.code)}`,
          ),
        );
    }
  }
}

/** A close code in words a person understands. */
export function explainClose(code: number, reason: string): string {
  if (code === 1006) return 'Cannot reach your relay. Is it running? Retrying…';
  if (code === 1001) return 'Your relay is shutting down.';
  if (code === 1011) return `Your relay lost a module (${reason || 'internal error'}). Reconnecting…`;
  return `Connection to your relay closed (${code}${reason ? `: ${reason}` : ''}). Reconnecting…`;
}
