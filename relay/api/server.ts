// One API server per module: accepts many clients on api_address, deframes and decodes each
// message, dispatches it to the module's handler, and closes only the offending connection on any
// API violation. Outbound traffic per connection is bounded; a client that stops reading is dropped.
import { createServer, type Server, type Socket } from 'node:net';
import { formatAddress, type HostPort } from '../../shared/address.ts';
import { Deframer } from '../../shared/wire/deframer.ts';
import { WireError } from '../../shared/wire/errors.ts';
import { decodeMessage, encodeMessage } from '../../shared/wire/index.ts';
import type { ApiMessage } from '../../shared/wire/types.ts';
import type { Logger } from '../log.ts';
import {
  type ApiConnection,
  type ApiHandler,
  type ApiServerLimits,
  ApiViolation,
  DEFAULT_API_LIMITS,
} from './types.ts';

export interface ApiServer {
  /** "host:port" actually bound (port 0 in the config picks a free one). */
  readonly address: string;
  readonly port: number;
  connections(): ApiConnection[];
  close(): Promise<void>;
}

export interface ApiServerOptions {
  module: string;
  address: HostPort;
  handler: ApiHandler;
  log: Logger;
  limits?: Partial<ApiServerLimits>;
}

let nextConnectionId = 1;

class SocketConnection implements ApiConnection {
  readonly id = nextConnectionId++;
  readonly remote: string;
  closed = false;
  private readonly deframer = new Deframer();

  constructor(
    private readonly socket: Socket,
    private readonly opts: ApiServerOptions,
    private readonly limits: ApiServerLimits,
    private readonly onGone: (c: SocketConnection) => void,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => this.close(`socket error: ${err.message}`));
    socket.on('close', () => this.close('peer closed', false));
  }

  send(msg: ApiMessage): boolean {
    if (this.closed) return false;
    if (this.socket.writableLength > this.limits.maxQueuedBytes) {
      this.close(`client not reading: ${this.socket.writableLength} bytes queued`);
      return false;
    }
    this.batch();
    this.socket.write(encodeMessage(msg));
    return true;
  }

  private corked = false;

  /**
   * Messages sent in one event-loop turn (all the I/O callbacks of that turn) leave in one write: one
   * syscall, one TCP segment where they fit.
   */
  private batch(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    setImmediate(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  close(reason: string, log = true): void {
    if (this.closed) return;
    this.closed = true;
    if (log) this.opts.log.info(`api connection ${this.id} (${this.remote}) closed: ${reason}`);
    if (this.corked) this.socket.uncork(); // what was sent before close() still leaves
    this.socket.destroy();
    this.onGone(this);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Uint8Array[];
    try {
      // A plain Uint8Array view: Buffer.slice would not copy, and decoded fields must own their bytes.
      frames = this.deframer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    } catch (e) {
      this.violation(e);
      return;
    }
    const { ingress, sheddable } = this.opts.handler;
    for (const frame of frames) {
      if (this.closed) return;
      if (!ingress) {
        this.dispatch(frame);
        continue;
      }
      const type = (frame[2]! << 8) | frame[3]!; // header: size u16 | type u16
      ingress.push(
        this,
        (stale) => {
          if (!stale && !this.closed) this.dispatch(frame);
        },
        sheddable?.has(type) ?? false,
      );
    }
  }

  private dispatch(frame: Uint8Array): void {
    let msg: ApiMessage;
    try {
      msg = decodeMessage(frame);
    } catch (e) {
      this.violation(e);
      return;
    }
    if (!this.opts.handler.accepts.has(msg.type)) {
      this.close(`API violation: message type ${msg.type} not accepted by ${this.opts.module}`);
      return;
    }
    try {
      const result = this.opts.handler.onMessage(this, msg);
      if (result instanceof Promise) result.catch((e) => this.violation(e));
    } catch (e) {
      this.violation(e);
    }
  }

  private violation(e: unknown): void {
    if (e instanceof WireError || e instanceof ApiViolation) {
      this.close(`API violation: ${e.message}`);
    } else {
      this.opts.log.error(`api connection ${this.id}: handler error: ${(e as Error)?.stack ?? e}`);
      this.close(`internal error: ${(e as Error)?.message ?? e}`);
    }
  }
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const limits = { ...DEFAULT_API_LIMITS, ...opts.limits };
  const live = new Set<SocketConnection>();
  const server: Server = createServer((socket) => {
    if (live.size >= limits.maxConnections) {
      opts.log.warn(
        `api: refusing ${socket.remoteAddress}:${socket.remotePort}: ${live.size} connections (max)`,
      );
      socket.destroy();
      return;
    }
    const conn = new SocketConnection(socket, opts, limits, (c) => {
      if (!live.delete(c)) return;
      try {
        opts.handler.onDisconnect?.(c);
      } catch (e) {
        opts.log.error(`api: onDisconnect failed: ${(e as Error).stack ?? e}`);
      }
    });
    live.add(conn);
    opts.log.debug(`api connection ${conn.id} from ${conn.remote}`);
    try {
      opts.handler.onConnect?.(conn);
    } catch (e) {
      conn.close(`internal error on connect: ${(e as Error).message}`);
    }
  });
  server.maxConnections = limits.maxConnections + 16;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.address.port, opts.address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => opts.log.error(`api server error: ${err.message}`));
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : opts.address.port;
  const address = formatAddress({ host: opts.address.host, port });
  return {
    address,
    port,
    connections: () => [...live],
    close: async () => {
      for (const c of [...live]) c.close('server stopping', false);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
