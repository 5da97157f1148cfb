// The set of links of one onion module: a TCP listener for inbound links, at most one authenticated
// outbound link per peer identity (dials to the same peer are coalesced), and an idle reaper that
// closes links without circuits.
import { createServer, type Server } from 'node:net';
import type { Logger } from '../log.ts';
import { dialLink, type Link, type LinkContext, TcpLink } from './link.ts';

export interface PeerAddress {
  host: string;
  port: number;
  identity: Uint8Array;
  idHex: string;
}

export interface LinkManagerOptions extends LinkContext {
  maxLinks: number;
  idleLinkMs: number;
  /** Number of circuits using a link (the reaper keeps links that have any). */
  circuitsOn: (link: Link) => number;
  /** A link finished its handshake: set its onCell. */
  onLink: (link: Link) => void;
  onLinkClosed: (link: Link, reason: string) => void;
}

export class LinkManager {
  private server: Server | undefined;
  readonly all = new Set<Link>();
  private readonly outbound = new Map<string, Link>();
  private readonly dialing = new Map<string, Promise<Link>>();
  private readonly reaper: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(private readonly opts: LinkManagerOptions) {
    this.log = opts.log;
    this.reaper = setInterval(() => this.reap(), Math.max(100, Math.floor(opts.idleLinkMs / 2)));
    this.reaper.unref();
  }

  async listen(host: string, port: number): Promise<number> {
    const server = createServer((socket) => {
      if (this.all.size >= this.opts.maxLinks) {
        this.log.warn(`refusing link from ${socket.remoteAddress}: ${this.all.size} links (max)`);
        socket.destroy();
        return;
      }
      const link = new TcpLink(socket, false, this.opts);
      this.track(link);
      link.ready.then(
        () => this.opts.onLink(link),
        () => {},
      );
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.log.error(`p2p server error: ${e.message}`));
    const a = server.address();
    return typeof a === 'object' && a ? a.port : port;
  }

  /** An authenticated outbound link to this peer (reused when one is open). */
  get(peer: PeerAddress): Promise<Link> {
    const have = this.outbound.get(peer.idHex);
    if (have && !have.closed) return Promise.resolve(have);
    // A dial in progress is shared only for the same address: otherwise anyone could make every
    // extend to R fail by asking for R at an address that never answers.
    const key = `${peer.idHex}@${peer.host}:${peer.port}`;
    const pending = this.dialing.get(key);
    if (pending) return pending;
    // Dials in progress count as links (each holds a socket).
    if (this.all.size + this.dialing.size >= this.opts.maxLinks)
      return Promise.reject(new Error('too many links'));
    const p = this.dial(peer).finally(() => this.dialing.delete(key));
    this.dialing.set(key, p);
    return p;
  }

  private async dial(peer: PeerAddress): Promise<Link> {
    const link = await dialLink(this.opts, peer.host, peer.port, peer.identity);
    this.track(link);
    this.outbound.set(peer.idHex, link);
    this.opts.onLink(link);
    return link;
  }

  private track(link: Link): void {
    this.all.add(link);
    link.onClose = (reason) => {
      this.all.delete(link);
      if (link.peerIdentity && this.outbound.get(link.peerIdentity) === link)
        this.outbound.delete(link.peerIdentity);
      this.opts.onLinkClosed(link, reason);
    };
  }

  private reap(): void {
    const cutoff = Date.now() - this.opts.idleLinkMs;
    for (const link of this.all) {
      if (link.lastUsed < cutoff && this.opts.circuitsOn(link) === 0) link.close('idle');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.reaper);
    for (const l of [...this.all]) l.close('shutting down');
    const s = this.server;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
