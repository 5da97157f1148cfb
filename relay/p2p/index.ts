// The shared P2P link library: authenticated, encrypted, rate-limited framed links between relay
// modules (Gossip, DHT, RPS ...). Protocol and byte layouts: docs/p2p-link.md.
//
//   const listener = await listenLinks({ address, hostkey, protocol: 'voidphone-gossip-v1', powBits, log,
//                                        onLink: (link) => link.onMessage((type, body) => ...) });
//   const link = await connectLink({ address: peer, hostkey, protocol: 'voidphone-gossip-v1', powBits, log });
//   link.send(1100, body);  link.onClose((reason) => ...);  link.close('bye');
import { connect, createServer, type Socket } from 'node:net';
import { formatAddress, type HostPort } from '../../shared/address.ts';
import type { Hostkey } from '../hostkey.ts';
import type { Logger } from '../log.ts';
import { DEFAULT_LINK_LIMITS, type LinkLimits } from './limits.ts';
import { Link } from './link.ts';
import { findPow } from './pow.ts';

export { FIRST_APP_TYPE } from './handshake.ts';
export { LinkViolation } from './frame.ts';
export { DEFAULT_LINK_LIMITS, type LinkLimits } from './limits.ts';
export { Link } from './link.ts';
export { checkPow, findPow } from './pow.ts';

export interface LinkOptions {
  hostkey: Hostkey;
  /** Domain-separation label, e.g. "voidphone-gossip-v1"; both ends must use the same. */
  protocol: string;
  /** Leading zero bits required of SHA-256(identity || nonce), ours and the peer's. */
  powBits: number;
  log: Logger;
  limits?: Partial<LinkLimits>;
  /** Our P2P listening port, told to peers in HELLO (0: we do not listen). */
  listenPort?: number;
}

export interface ListenOptions extends LinkOptions {
  address: HostPort;
  /** Sockets held at once, handshaking or open; more are refused at once. Default 256. */
  maxConnections?: number;
  /**
   * Sockets one IP address may hold (default 16), of which still handshaking (default 4): one host
   * cannot take every slot, with or without proofs of work. Loopback is exempt (local testnets) unless
   * limitLoopback is set (tests).
   */
  maxPerAddress?: number;
  maxHandshakingPerAddress?: number;
  limitLoopback?: boolean;
  /** Open inbound links one peer identity may hold (default 2); the oldest goes beyond. */
  maxPerIdentity?: number;
  /** Called with each link once its handshake succeeded. */
  onLink(link: Link): void;
}

export interface LinkListener {
  /** "host:port" actually bound (port 0 in the config picks a free one). */
  readonly address: string;
  readonly port: number;
  links(): Link[];
  close(): Promise<void>;
}

function limitsOf(opts: LinkOptions): LinkLimits {
  const l = { ...DEFAULT_LINK_LIMITS, ...opts.limits };
  if (l.maxFrameSize > 65535 || l.maxFrameSize < 1024)
    throw new RangeError('maxFrameSize must be 1024..65535');
  return l;
}

export async function listenLinks(opts: ListenOptions): Promise<LinkListener> {
  const limits = limitsOf(opts);
  const powNonce = await findPow(opts.hostkey.identity, opts.powBits);
  const cap = opts.maxConnections ?? 256;
  const sockets = new Set<Socket>();
  const open = new Set<Link>();
  const perAddress = new AddressCounts(opts);
  const perIdentity = new Map<string, Link[]>();
  const server = createServer({ noDelay: true }, (socket) => {
    const from = socket.remoteAddress ?? '?';
    const refused = sockets.size >= cap ? `${cap} connections` : perAddress.refuse(from);
    if (refused) {
      opts.log.info(`p2p connection from ${from}:${socket.remotePort} refused: ${refused}`);
      socket.destroy();
      return;
    }
    sockets.add(socket);
    perAddress.add(from);
    let handshaken = false;
    socket.on('close', () => {
      sockets.delete(socket);
      perAddress.remove(from, handshaken);
    });
    const link = new Link(socket, { ...opts, limits, powNonce, listenPort: port, initiator: false });
    link.ready.then(
      () => {
        handshaken = true;
        perAddress.handshaken(from);
        open.add(link);
        const same = [...(perIdentity.get(link.peerId) ?? []), link];
        perIdentity.set(link.peerId, same);
        // Both ends ping a link, so a replaced one never idles out: beyond the cap the oldest goes.
        if (same.length > (opts.maxPerIdentity ?? 2))
          same[0]!.close('replaced by a newer link from the same peer');
        link.onClose(() => {
          open.delete(link);
          const rest = (perIdentity.get(link.peerId) ?? []).filter((l) => l !== link);
          if (rest.length > 0) perIdentity.set(link.peerId, rest);
          else perIdentity.delete(link.peerId);
        });
        opts.onLink(link);
      },
      () => {},
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.address.port, opts.address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => opts.log.error(`p2p listener error: ${e.message}`));
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : opts.address.port;
  const address = formatAddress({ host: opts.address.host, port });
  return {
    address,
    port,
    links: () => [...open],
    close: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const l of open) l.close('shutting down');
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

/** Sockets per remote IP address, and how many of them are still handshaking. */
class AddressCounts {
  private readonly all = new Map<string, number>();
  private readonly handshaking = new Map<string, number>();
  private readonly max: number;
  private readonly maxHandshaking: number;
  private readonly loopbackToo: boolean;

  constructor(opts: ListenOptions) {
    this.max = opts.maxPerAddress ?? 16;
    this.maxHandshaking = opts.maxHandshakingPerAddress ?? 4;
    this.loopbackToo = opts.limitLoopback ?? false;
  }

  /** Why a new socket from `ip` is refused, or undefined. */
  refuse(ip: string): string | undefined {
    if (!this.loopbackToo && isLoopback(ip)) return undefined;
    if ((this.all.get(ip) ?? 0) >= this.max) return `${this.max} connections from that address`;
    if ((this.handshaking.get(ip) ?? 0) >= this.maxHandshaking)
      return `${this.maxHandshaking} handshakes from that address`;
    return undefined;
  }

  add(ip: string): void {
    bump(this.all, ip, 1);
    bump(this.handshaking, ip, 1);
  }

  handshaken(ip: string): void {
    bump(this.handshaking, ip, -1);
  }

  /** A socket closed; `handshaken`: its handshake had finished (already counted off). */
  remove(ip: string, handshaken: boolean): void {
    bump(this.all, ip, -1);
    if (!handshaken) bump(this.handshaking, ip, -1);
  }
}

function bump(m: Map<string, number>, key: string, by: number): void {
  const n = (m.get(key) ?? 0) + by;
  if (n > 0) m.set(key, n);
  else m.delete(key);
}

const isLoopback = (ip: string) => ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.');

export interface ConnectOptions extends LinkOptions {
  address: HostPort;
  /** Fail the handshake unless the peer proves this identity (e.g. learnt from peer exchange). */
  expectIdentity?: Uint8Array;
}

/** Dial a peer and complete the handshake; rejects with the reason on any failure or timeout. */
export async function connectLink(opts: ConnectOptions): Promise<Link> {
  const limits = limitsOf(opts);
  const powNonce = await findPow(opts.hostkey.identity, opts.powBits);
  const socket = connect({ host: opts.address.host, port: opts.address.port, noDelay: true });
  const link = new Link(socket, {
    ...opts,
    limits,
    powNonce,
    listenPort: opts.listenPort ?? 0,
    initiator: true,
  });
  return link.ready;
}
