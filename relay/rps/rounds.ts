// Brahms rounds over our P2P protocol: each round pushes our record to α·l1 view members, pulls
// the views of β·l1 others, renews the view (unless pushes flooded in), and probes the samplers'
// samples so that dead peers leave. Also serves other relays' pushes, pulls and probes.
import type { HostPort } from '../../shared/address.ts';
import { LinkViolation } from '../p2p/index.ts';
import { RPS_MODULE_ID } from './config.ts';
import { RpsNode } from './node.ts';
import { decodeNonce, decodePullReply, encodeNonce, encodePullReply, RpsType } from './protocol.ts';
import { type PeerRecord, portOf, RecordError } from './record.ts';

/** Pushes and pull requests one peer may send per round of ours (two rounds may overlap). */
const PER_ROUND_LIMIT = 4;
/** Records accepted in one pull reply. */
export const MAX_PULL_RECORDS = 64;

export class RpsRelay extends RpsNode {
  private pushesIn = new Map<string, number>();
  private pullsIn = new Map<string, number>();
  private round = 0;

  /** Rounds started so far. */
  get rounds(): number {
    return this.round;
  }
  private inRound = false;
  /** Supplies NSE's estimate at the start of each round (undefined: keep the current size). */
  sizeSource: (() => Promise<number | undefined>) | undefined;

  protected override handleFrame(
    peerId: string,
    type: number,
    body: Uint8Array,
    reply: (type: number, body: Uint8Array) => boolean,
    remoteHost = '',
  ): void {
    if (type === RpsType.PUSH) this.onPush(peerId, body, remoteHost);
    else if (type === RpsType.PULL_REQUEST) this.onPullRequest(peerId, body, reply);
    else if (type === RpsType.PULL_REPLY) {
      if (body.length < 4) throw new LinkViolation('PULL_REPLY truncated');
      this.links.settle(`${peerId}/${new DataView(body.buffer, body.byteOffset, 4).getUint32(0)}`, body);
    } else if (type === RpsType.PROBE || type === RpsType.PROBE_REPLY)
      super.handleFrame(peerId, type, body, reply, remoteHost);
    else throw new LinkViolation(`unknown RPS frame type ${type}`);
  }

  private count(map: Map<string, number>, peerId: string, what: string): void {
    const n = (map.get(peerId) ?? 0) + 1;
    if (n > PER_ROUND_LIMIT) throw new LinkViolation(`more than ${PER_ROUND_LIMIT} ${what} in one round`);
    map.set(peerId, n);
  }

  private onPush(peerId: string, body: Uint8Array, remoteHost: string): void {
    this.count(this.pushesIn, peerId, 'pushes');
    let rec: PeerRecord;
    try {
      rec = this.accept(body, 'push', remoteHost);
    } catch (e) {
      throw new LinkViolation(`bad PUSH: ${(e as Error).message}`);
    }
    // Authenticated push: a peer can only push itself, never someone else's identity.
    if (rec.id !== peerId) throw new LinkViolation('PUSH of a record that is not the pusher');
    this.brahms.receivePush(peerId);
  }

  private onPullRequest(
    peerId: string,
    body: Uint8Array,
    reply: (t: number, b: Uint8Array) => boolean,
  ): void {
    this.count(this.pullsIn, peerId, 'pull requests');
    const nonce = decodeNonce(body, 'PULL_REQUEST');
    reply(RpsType.PULL_REPLY, encodePullReply(nonce, this.pullReplyRecords(), 60_000));
  }

  /** Our own record, then our view's records (attacker test relays override this). */
  protected pullReplyRecords(): Uint8Array[] {
    const view = this.brahms.view.map((id) => this.peers.get(id)?.record.bytes);
    return [this.freshOwn().bytes, ...view.filter((b): b is Uint8Array => b !== undefined)];
  }

  /** Push targets of this round (attacker test relays override this). */
  protected pushTargets(): string[] {
    return this.brahms.pushTargets();
  }

  /** Our record, re-signed once a quarter of record_max_age has passed. */
  freshOwn(): PeerRecord {
    if (this.now() - this.own.time > this.opts.recordMaxAgeMs / 4) this.refreshOwn();
    return this.own;
  }

  addressOf(id: string): HostPort | undefined {
    const e = this.peers.get(id);
    const port = e && portOf(e.record, RPS_MODULE_ID);
    return e && port ? { host: e.record.address, port } : undefined;
  }

  /** Pull a peer's view: returns the identities learnt (each verified and in the peer table). */
  async pull(id: string, address: HostPort): Promise<string[]> {
    const body = await this.links.request(
      id,
      address,
      RpsType.PULL_REQUEST,
      encodeNonce,
      this.opts.probeTimeoutMs,
    );
    let records: Uint8Array[];
    try {
      records = decodePullReply(body, MAX_PULL_RECORDS).records;
    } catch (e) {
      this.links.drop(id, (e as Error).message);
      throw e;
    }
    this.peers.markAlive(id, this.now());
    const ids: string[] = [];
    let bad = 0;
    // Its own record and at most a view's worth: a peer sending the full 64 would outweigh honest ones.
    for (const r of records.slice(0, this.brahms.viewSize + 1)) {
      try {
        const rec = this.accept(r, 'pull');
        if (rec.id !== this.selfId && this.peers.has(rec.id)) ids.push(rec.id);
      } catch (e) {
        if (!(e instanceof RecordError)) throw e;
        bad++;
      }
    }
    if (bad > 0) this.log.debug(`pull from ${id.slice(0, 12)}: ${bad} records rejected`);
    return ids;
  }

  async runRound(): Promise<void> {
    if (this.inRound) return;
    this.inRound = true;
    try {
      this.round++;
      const n = await this.sizeSource?.().catch(() => undefined);
      if (n !== undefined) this.setNetworkSize(n);
      this.pushesIn = new Map();
      this.pullsIn = new Map();
      // Alone (bootstrapper was down, everyone we knew died): ask the bootstrappers again.
      if (this.peers.size === 0 && this.opts.bootstrappers.length > 0)
        await this.bootstrap(this.opts.bootstrappers);
      this.brahms.topUp();
      const own = this.freshOwn();
      const pushes = this.pushTargets().map((id) => this.pushTo(id, own.bytes));
      const pulls = this.brahms.pullTargets().map(async (id) => {
        const addr = this.addressOf(id);
        if (!addr) return;
        try {
          this.brahms.receivePull(await this.pull(id, addr));
        } catch (e) {
          this.log.debug(`pull from ${id.slice(0, 12)} failed: ${(e as Error).message}`);
          this.failed(id, e as Error);
        }
      });
      await Promise.all([...pushes, ...pulls]);
      const r = this.brahms.endRound();
      this.log.debug(
        `round ${this.round}: view ${this.brahms.view.length}/${this.brahms.viewSize} ${r.updated ? 'renewed' : `kept (${r.reason})`}, pushes ${r.pushes}, pulled ${r.pulls}, peers ${this.peers.size}`,
      );
      await this.probeSamples();
    } finally {
      this.inRound = false;
    }
  }

  private async pushTo(id: string, record: Uint8Array): Promise<void> {
    const addr = this.addressOf(id);
    if (!addr) return;
    try {
      await this.links.send(id, addr, RpsType.PUSH, record);
    } catch (e) {
      this.log.debug(`push to ${id.slice(0, 12)} failed: ${(e as Error).message}`);
      this.failed(id, e as Error);
    }
  }

  /** Keep every sampler's sample proven alive, so queries are answered without waiting. */
  private async probeSamples(): Promise<void> {
    const stale = this.now() - this.opts.probeMaxAgeMs / 2;
    const ids = this.brahms.samplers.samples().filter((id) => (this.peers.get(id)?.lastAlive ?? 0) < stale);
    await Promise.all(ids.map((id) => this.probe(id)));
  }

  /** Pull from configured bootstrappers (identity learnt in the handshake), pushing ourselves. */
  async bootstrap(addresses: HostPort[]): Promise<void> {
    await Promise.all(
      addresses.map(async (address) => {
        try {
          const link = await this.links.dialAny(address);
          if (link.peerId === this.selfId) return;
          link.send(RpsType.PUSH, this.freshOwn().bytes);
          this.brahms.receivePull(await this.pull(link.peerId, address));
        } catch (e) {
          this.log.info(`bootstrap ${address.host}:${address.port} failed: ${(e as Error).message}`);
        }
      }),
    );
  }
}
