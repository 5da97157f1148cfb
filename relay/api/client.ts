// A typed API client: what one module uses to reach another module's API socket (and what tests
// use to act as a client). Every wait has a timeout.
import { connect, type Socket } from 'node:net';
import { type HostPort, parseAddress } from '../../shared/address.ts';
import { Deframer } from '../../shared/wire/deframer.ts';
import { decodeMessage, encodeMessage } from '../../shared/wire/index.ts';
import type { ApiMessage, MessageOf } from '../../shared/wire/types.ts';
import type { Logger } from '../log.ts';

export interface ApiClientOptions {
  /** Connect timeout, and default reply timeout. */
  timeoutMs?: number;
  log?: Logger;
}

type Listener = (msg: ApiMessage) => void;

export class ApiClient {
  closed = false;
  closeReason = '';
  private readonly listeners = new Set<Listener>();
  private readonly closeListeners = new Set<(reason: string) => void>();
  private readonly deframer = new Deframer();

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
    private readonly log?: Logger,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => this.shutdown(`socket error: ${err.message}`));
    socket.on('close', () => this.shutdown('closed by server'));
  }

  static connect(address: HostPort | string, opts: ApiClientOptions = {}): Promise<ApiClient> {
    const addr = typeof address === 'string' ? parseAddress(address) : address;
    const timeoutMs = opts.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const socket = connect({ host: addr.host, port: addr.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`API connect to ${addr.host}:${addr.port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`API connect to ${addr.host}:${addr.port} failed: ${err.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new ApiClient(socket, timeoutMs, opts.log));
      });
    });
  }

  send(msg: ApiMessage): void {
    if (this.closed) throw new Error(`API connection closed: ${this.closeReason}`);
    if (!this.corked) {
      // Messages sent in one event-loop turn leave in one write.
      this.corked = true;
      this.socket.cork();
      setImmediate(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(encodeMessage(msg));
  }

  private corked = false;

  /** Raw bytes (tests use this to send malformed frames). */
  sendRaw(bytes: Uint8Array): void {
    if (!this.closed) this.socket.write(bytes);
  }

  onMessage(cb: Listener): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  onClose(cb: (reason: string) => void): () => void {
    if (this.closed) queueMicrotask(() => cb(this.closeReason));
    this.closeListeners.add(cb);
    return () => this.closeListeners.delete(cb);
  }

  /** Wait for the next message of a type (optionally matching a filter). */
  next<T extends ApiMessage['type']>(
    type: T,
    opts: { timeoutMs?: number; filter?: (m: MessageOf<T>) => boolean } = {},
  ): Promise<MessageOf<T>> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        offMsg();
        offClose();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for message type ${type}`));
      }, timeoutMs);
      const offMsg = this.onMessage((m) => {
        if (m.type !== type) return;
        const typed = m as MessageOf<T>;
        if (opts.filter && !opts.filter(typed)) return;
        done();
        resolve(typed);
      });
      const offClose = this.onClose((reason) => {
        done();
        reject(new Error(`API connection closed while waiting for type ${type}: ${reason}`));
      });
    });
  }

  /** Send a request and wait for the next reply of the given type. */
  request<T extends ApiMessage['type']>(
    msg: ApiMessage,
    replyType: T,
    timeoutMs?: number,
  ): Promise<MessageOf<T>> {
    const reply = this.next(replyType, { timeoutMs });
    this.send(msg);
    return reply;
  }

  /** Resolves when the server closes this connection (rejects after timeoutMs). */
  waitClosed(timeoutMs = this.timeoutMs): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('connection still open')), timeoutMs);
      this.onClose((r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  }

  close(): void {
    this.shutdown('closed by client');
  }

  private onData(chunk: Buffer): void {
    let frames: Uint8Array[];
    try {
      // A plain Uint8Array view: Buffer.slice would not copy, and decoded fields must own their bytes.
      frames = this.deframer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    } catch (e) {
      this.shutdown(`bad frame from server: ${(e as Error).message}`);
      return;
    }
    for (const frame of frames) {
      let msg: ApiMessage;
      try {
        msg = decodeMessage(frame);
      } catch (e) {
        this.shutdown(`bad message from server: ${(e as Error).message}`);
        return;
      }
      for (const l of [...this.listeners]) l(msg);
    }
  }

  private shutdown(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    this.log?.debug(`api client: ${reason}`);
    if (this.corked) this.socket.uncork(); // what was sent before close() still leaves
    this.socket.destroy();
    for (const l of [...this.closeListeners]) l(reason);
    this.closeListeners.clear();
    this.listeners.clear();
  }
}
