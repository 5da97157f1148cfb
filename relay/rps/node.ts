// The RPS state of one relay: peer table (history), Brahms view and samplers, our own signed
// record, liveness probes, and the answer to "give me a random live peer". Rounds and the P2P
// message handlers live in rounds.ts; the API side in service.ts.
import { randomInt } from 'node:crypto';
import { ipToBytes } from '../../shared/address.ts';
import { toHex } from '../../shared/identity.ts';
import { type Hostkey, identityOfDer } from '../hostkey.ts';
import { isPrivateAddress } from '../private-address.ts';
import type { Logger } from '../log.ts';
import { Brahms } from './brahms.ts';
import { RPS_MODULE_ID, type RpsOptions, sizesFor } from './config.ts';
import { RpsLinks } from './links.ts';
import { PeerTable } from './peers.ts';
import { RpsType, decodeNonce, encodeNonce } from './protocol.ts';
import { type PeerRecord, parseRecord, portOf, RecordError, signRecord, verifyRecord } from './record.ts';
import type { Sampler } from './sampler.ts';

export type Source = 'gossip' | 'push' | 'pull' | 'store';

export interface NodeDeps {
  opts: RpsOptions;
  hostkey: Hostkey;
  log: Logger;
  now?: () => number;
}

const MAX_WAITERS = 4096;

export class RpsNode {
  readonly opts: RpsOptions;
  readonly hostkey: Hostkey;
  readonly log: Logger;
  readonly selfId: string;
  readonly peers: PeerTable;
  readonly brahms: Brahms;
  readonly links: RpsLinks;
  readonly now: () => number;
  own: PeerRecord;
  /** Network size used for l1/l2 (NSE's estimate, or default_size). */
  networkSize: number;
  private readonly waiters = new Set<() => void>();
  private readonly probing = new Map<string, Promise<boolean>>();

  constructor(deps: NodeDeps) {
    this.opts = deps.opts;
    this.hostkey = deps.hostkey;
    this.log = deps.log;
    this.now = deps.now ?? Date.now;
    this.selfId = toHex(deps.hostkey.identity);
    this.peers = new PeerTable(
      this.selfId,
      this.opts.maxPeers,
      this.opts.recordMaxAgeMs,
      this.opts.tombstoneMs,
    );
    this.networkSize = this.opts.defaultSize;
    const sizes = sizesFor(this.networkSize, this.opts);
    this.brahms = new Brahms(this.peers, sizes.view, sizes.samplers, {
      alpha: this.opts.alpha,
      beta: this.opts.beta,
    });
    this.own = this.signOwn();
    this.links = new RpsLinks({
      hostkey: deps.hostkey,
      powBits: this.opts.powBits,
      log: deps.log,
      maxLinks: this.opts.maxLinks,
      connectTimeoutMs: this.opts.connectTimeoutMs,
      handshakeTimeoutMs: this.opts.handshakeTimeoutMs,
      onMessage: (link, type, body) =>
        this.handleFrame(link.peerId, type, body, link.send.bind(link), link.remoteHost),
    });
  }

  /** Overridden by rounds.ts's subclass; the base node answers only probes. */
  protected handleFrame(
    peerId: string,
    type: number,
    body: Uint8Array,
    reply: (type: number, body: Uint8Array) => boolean,
    _remoteHost = '',
  ): void {
    if (type === RpsType.PROBE) reply(RpsType.PROBE_REPLY, encodeNonce(decodeNonce(body, 'PROBE')));
    else if (type === RpsType.PROBE_REPLY)
      this.links.settle(`${peerId}/${decodeNonce(body, 'PROBE_REPLY')}`, body);
  }

  signOwn(): PeerRecord {
    return signRecord(
      { address: this.opts.advertiseIp, portmap: this.opts.portmap, time: this.now() },
      this.hostkey,
    );
  }

  /** Re-sign our record with the current time (before each announcement). */
  refreshOwn(): PeerRecord {
    this.own = this.signOwn();
    return this.own;
  }

  /**
   * Authenticate a record and learn the peer. Throws RecordError when the record is not
   * acceptable (bad signature, key too small, stale or from the future).
   */
  accept(bytes: Uint8Array, source: Source, fromHost?: string): PeerRecord {
    const rec = this.verifyCached(bytes);
    if (source !== 'store') {
      const now = this.now();
      if (rec.time > now + this.opts.clockSkewMs) throw new RecordError('record time is in the future');
      if (rec.time < now - this.opts.recordMaxAgeMs) throw new RecordError('record is too old');
    }
    if (portOf(rec, RPS_MODULE_ID) === undefined) throw new RecordError('record has no RPS P2P port (540)');
    // A peer's record names its own address; on a public relay a private one would make us (and
    // everyone we hand it to) dial into our own networks.
    if (!this.opts.dialPrivateAddresses && isPrivateAddress(rec.address))
      throw new RecordError('record address is loopback or private');
    // An authenticated push is the peer itself, alive right now - at the address it signed only if
    // the link comes from there: else a peer could sign any address (someone else's, or one that
    // does not answer), push from its own host, and have us hand it out as alive without a probe.
    const alive = source === 'push' && fromHost !== undefined && sameIp(fromHost, rec.address);
    const added = this.peers.add(rec, this.now(), alive ? this.now() : 0);
    if (added === 'new') {
      this.brahms.learn(rec.id);
      this.wake();
    }
    return rec;
  }

  /** Records we already hold byte for byte need no second RSA verification. */
  private verifyCached(bytes: Uint8Array): PeerRecord {
    const p = peekId(bytes);
    const known = p ? this.peers.get(p) : undefined;
    if (known && Buffer.from(known.record.bytes).equals(bytes)) return known.record;
    return verifyRecord(bytes, { minKeyBits: this.opts.minKeyBits });
  }

  /** l1 and l2 follow the network size. */
  setNetworkSize(n: number): void {
    if (!Number.isFinite(n) || n < 1 || n === this.networkSize) return;
    this.networkSize = n;
    const s = sizesFor(n, this.opts);
    this.brahms.resize(s.view, s.samplers);
  }

  /** Probe a peer over its RPS P2P port; a failure forgets it (until it signs a newer record). */
  probe(id: string): Promise<boolean> {
    let p = this.probing.get(id);
    if (!p) {
      p = this.doProbe(id).finally(() => this.probing.delete(id));
      this.probing.set(id, p);
    }
    return p;
  }

  private async doProbe(id: string): Promise<boolean> {
    const e = this.peers.get(id);
    if (!e) return false;
    const port = portOf(e.record, RPS_MODULE_ID)!;
    try {
      await this.links.request(
        id,
        { host: e.record.address, port },
        RpsType.PROBE,
        encodeNonce,
        this.opts.probeTimeoutMs,
      );
      this.peers.markAlive(id, this.now());
      this.wake();
      return true;
    } catch (err) {
      this.log.debug(`probe ${id.slice(0, 12)} failed: ${(err as Error).message}`);
      this.failed(id, err as Error);
      return false;
    }
  }

  /**
   * A request to the peer failed. Refused or closed: it is gone, forget it now. Timed out: maybe
   * only slow (a busy host), so it is forgotten at the second timeout in a row; meanwhile it is
   * not handed out anyway, since it has no recent probe.
   */
  failed(id: string, err: Error): void {
    const e = this.peers.get(id);
    if (!e) return;
    if (/timed out/.test(err.message) && ++e.timeouts < 2) return;
    this.forget(id);
  }

  forget(id: string): void {
    if (this.peers.markDead(id, this.now())) this.brahms.remove(id);
  }

  /**
   * One random live peer: a sampler chosen uniformly, whose sample answered a probe within
   * probe_max_age (probed now if needed). Waits for a peer up to `timeoutMs`; undefined if none.
   * The sampler used is re-initialised, so consecutive answers are independent.
   */
  async sample(timeoutMs: number): Promise<PeerRecord | undefined> {
    const deadline = this.now() + timeoutMs;
    for (;;) {
      const fresh = this.brahms.candidates(this.now() - this.opts.probeMaxAgeMs);
      if (fresh.length > 0) return this.handOut(fresh[randomInt(fresh.length)]!);
      const any = this.brahms.candidates();
      const left = deadline - this.now();
      if (left <= 0) return undefined;
      if (any.length > 0) {
        const s = any[randomInt(any.length)]!;
        const id = s.sample!;
        if ((await this.probe(id)) && s.sample === id && this.peers.has(id)) return this.handOut(s);
        continue;
      }
      await this.waitForChange(left);
    }
  }

  private handOut(s: Sampler): PeerRecord {
    const rec = this.peers.get(s.sample!)!.record;
    this.brahms.consume(s);
    // Warm the replacement sample so the next query need not wait for its probe.
    const next = s.sample;
    if (next && this.peers.get(next)!.lastAlive < this.now() - this.opts.probeMaxAgeMs / 2)
      void this.probe(next);
    return rec;
  }

  /** Resolves when a peer was learnt or answered a probe, or after `ms`. */
  waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.waiters.size >= MAX_WAITERS) {
        setTimeout(resolve, Math.min(ms, 100));
        return;
      }
      const done = () => {
        clearTimeout(t);
        this.waiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  protected wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** The identity a record claims, without verifying it (undefined if it does not parse). */
function peekId(bytes: Uint8Array): string | undefined {
  try {
    return toHex(identityOfDer(parseRecord(bytes).hostkey));
  } catch {
    return undefined;
  }
}

/** Same IP address (an IPv4-mapped IPv6 address equals its IPv4 address). */
export function sameIp(a: string, b: string): boolean {
  const norm = (ip: string) => {
    try {
      const x = ipToBytes(ip);
      const mapped =
        x.length === 16 && x.subarray(0, 10).every((v) => v === 0) && x[10] === 0xff && x[11] === 0xff;
      return Buffer.from(mapped ? x.subarray(12) : x).toString('hex');
    } catch {
      return ip;
    }
  };
  return norm(a) === norm(b);
}
