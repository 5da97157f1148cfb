// One browser on the bridge: its WebSocket, plus its own API connections to Gossip and Onion (so
// the modules see it as any other API client). Binary frame = one API message, checked, then routed
// by type range; text frames = the JSON control protocol (docs/bridge-protocol.md).
import type { WebSocket } from 'ws';
import { formatAddress } from '../../shared/address.ts';
import { toHex } from '../../shared/identity.ts';
import { decodeMessage, encodeMessage, peekHeader, WireError } from '../../shared/wire/index.ts';
import type { ApiMessage } from '../../shared/wire/types.ts';
import { ApiClient } from '../api/client.ts';
import type { Hostkey } from '../hostkey.ts';
import type { Logger } from '../log.ts';
import type { BridgeOptions } from './options.ts';
import type { TokenBucket } from '../p2p/ratelimit.ts';
import { parseControl } from './control.ts';
import { CallSignPolicy } from './sign-call.ts';
import { presenceSignRefusal } from './sign-presence.ts';
import { type SignPurpose, signForAsync } from './sign.ts';

/** What a browser may send to each module (everything else is a violation). */
const ROUTES: Record<'gossip' | 'onion', { from: number; to: number; accepts: Set<number> }> = {
  gossip: { from: 500, to: 519, accepts: new Set([500, 501, 503]) },
  onion: { from: 560, to: 599, accepts: new Set([560, 563, 564, 566]) },
};
type Route = keyof typeof ROUTES;
const MAX_WS_QUEUED = 4 * 1024 * 1024;

export class BridgeSession {
  private readonly api: Partial<Record<Route, ApiClient>> = {};
  private closed = false;
  private readonly callPolicy: CallSignPolicy;

  constructor(
    readonly id: number,
    private readonly ws: WebSocket,
    private readonly opts: BridgeOptions,
    private readonly hostkey: Hostkey,
    private readonly log: Logger,
    /**
     * Signing tokens (sign_per_second, burst 2x) shared by every session of the bridge: one bucket per
     * session gave each new WebSocket a full burst, so reconnecting multiplied the RSA-4096 work.
     */
    private readonly signTokens: TokenBucket,
  ) {
    this.callPolicy = new CallSignPolicy(hostkey.identity);
    ws.on('message', (data, isBinary) => this.onFrame(data as Buffer, isBinary));
    ws.on('close', () => this.shutdown());
    ws.on('error', (err) => this.close(1009, `websocket error: ${err.message}`));
  }

  async start(): Promise<void> {
    const modules: Record<string, boolean> = {};
    for (const route of Object.keys(ROUTES) as Route[]) {
      const addr = route === 'gossip' ? this.opts.gossipApi : this.opts.onionApi;
      modules[route] = false;
      if (!addr) continue;
      try {
        const client = await ApiClient.connect(addr, { timeoutMs: 3000, log: this.log });
        if (this.closed) return client.close();
        this.api[route] = client;
        modules[route] = true;
        client.onMessage((m) => this.toBrowser(m));
        client.onClose((why) => this.close(1011, `${route} API connection closed: ${why}`));
      } catch (e) {
        this.log.warn(`client ${this.id}: ${route} API unavailable: ${(e as Error).message}`);
      }
    }
    this.sendJson({
      t: 'hello',
      v: 1,
      identity: toHex(this.hostkey.identity),
      hostkey: Buffer.from(this.hostkey.spkiDer).toString('base64url'),
      onion: this.opts.onionP2p ?? null,
      round: { seconds: this.opts.roundSeconds },
      now: Date.now(),
      modules,
    });
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.log.info(`client ${this.id} closed: ${reason}`);
    this.shutdown();
    // Close reasons are limited to 123 bytes on the wire.
    this.ws.close(code, reason.slice(0, 120));
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of Object.values(this.api)) c?.close();
  }

  private toBrowser(m: ApiMessage): void {
    if (m.type === 564) this.callPolicy.sawTunnelData(m.data);
    this.send(encodeMessage(m), true);
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) this.onApiFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    else this.onText(data);
  }

  private onApiFrame(frame: Uint8Array): void {
    let msg: ApiMessage;
    try {
      const { type } = peekHeader(frame);
      msg = decodeMessage(frame);
      const route = (Object.keys(ROUTES) as Route[]).find(
        (r) => type >= ROUTES[r].from && type <= ROUTES[r].to,
      );
      if (!route || !ROUTES[route].accepts.has(type)) {
        this.close(1008, `API message type ${type} not allowed from a browser`);
        return;
      }
      const client = this.api[route];
      if (!client || client.closed) {
        this.sendJson({ t: 'error', code: 'module-unavailable', module: route });
        return;
      }
      client.send(msg);
    } catch (e) {
      const why = e instanceof WireError ? e.message : String(e);
      this.close(1008, `malformed API message: ${why}`);
    }
  }

  private onText(text: Buffer): void {
    const m = parseControl(text);
    if (m.t === 'bad') return void this.close(m.code, m.reason);
    if (m.t === 'ping') return void this.sendJson({ t: 'pong', id: m.id, now: Date.now() });
    const { id, purpose, data } = m;
    // The rate limit first: the call policy marks an answered offer as used when it agrees, so a
    // request it agreed to must not then be dropped for the rate (a retry would be refused).
    if (!this.signTokens.take()) {
      this.log.warn(`client ${this.id}: sign request refused: rate limit`);
      this.sendJson({ t: 'error', id, code: 'rate-limited' });
      return;
    }
    const refused = this.refusal(purpose, data);
    if (refused) {
      this.log.warn(`client ${this.id}: ${purpose} sign request refused: ${refused}`);
      this.sendJson({ t: 'error', id, code: 'refused', reason: refused });
      return;
    }
    // Off the event loop (RSA-4096 costs ~4 ms a signature); answers may overtake each other, the
    // id tells them apart. sendJson does nothing once the session closed.
    signForAsync(this.hostkey, purpose, data).then(
      (sig) => this.sendJson({ t: 'signed', id, sig: Buffer.from(sig).toString('base64url') }),
      (e: Error) => this.close(1011, `signing failed: ${e.message}`),
    );
  }

  /** The signing policy per purpose (sign-call.ts, sign-presence.ts): null = sign. */
  private refusal(purpose: SignPurpose, data: Uint8Array): string | null {
    if (purpose === 'call') return this.callPolicy.check(data);
    return presenceSignRefusal(data, Date.now(), this.opts.roundSeconds * 1000);
  }

  private sendJson(obj: unknown): void {
    this.send(JSON.stringify(obj), false);
  }

  /**
   * Everything to the browser goes through here: API messages, and text replies (a pong echoes an id
   * of up to ~4 KB). A page that stops reading would grow the WebSocket's queue without bound: past
   * MAX_WS_QUEUED it is closed.
   */
  private send(data: Uint8Array | string, binary: boolean): void {
    if (this.closed) return;
    if (this.ws.bufferedAmount > MAX_WS_QUEUED) {
      this.close(1008, `browser not reading: ${this.ws.bufferedAmount} bytes queued`);
      return;
    }
    this.ws.send(data, { binary });
  }
}

export function describeApi(opts: BridgeOptions): string {
  const a = (h?: { host: string; port: number }) => (h ? formatAddress(h) : 'none');
  return `gossip API ${a(opts.gossipApi)}, onion API ${a(opts.onionApi)}`;
}
