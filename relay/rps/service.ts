// The RPS module: API 540/541 on api_address, our P2P protocol on p2p_address, Gossip and NSE
// through their APIs, rounds on a timer, the store saved periodically and at stop.
//
// RPS QUERY with no live peer known: the query waits (in order, per connection) until a peer is
// known and answers a probe, up to query_timeout; then the connection is closed with a logged
// reason, since the spec has no RPS error message and an RPS PEER must name a real peer.
import { formatAddress } from '../../shared/address.ts';
import type { ApiMessage, RpsPeer } from '../../shared/wire/types.ts';
import { MessageType } from '../../shared/wire/types.ts';
import { startApiServer, type ApiServer } from '../api/server.ts';
import { type ApiConnection, type ApiHandler, ApiViolation } from '../api/types.ts';
import type { Logger } from '../log.ts';
import type { RelayModule } from '../module.ts';
import type { RpsOptions } from './config.ts';
import { GossipFeed, NseSource } from './feeds.ts';
import type { NodeDeps } from './node.ts';
import { type PeerRecord, RecordError } from './record.ts';
import { RpsRelay } from './rounds.ts';
import { gauge } from '../metrics/samples.ts';
import { startStatusLog } from '../status.ts';
import { rpsStatusLine } from './status.ts';
import { loadStore, saveStore, snapshot } from './store.ts';

export function toRpsPeer(rec: PeerRecord): RpsPeer {
  const gossip = rec.portmap.find((e) => e.module === MessageType.GOSSIP_ANNOUNCE)?.port;
  const rps = rec.portmap.find((e) => e.module === MessageType.RPS_QUERY)?.port;
  return {
    type: MessageType.RPS_PEER,
    port: gossip ?? rps ?? 0,
    portmap: rec.portmap,
    address: rec.address,
    hostkey: rec.hostkey,
  };
}

interface ConnState {
  pending: number;
  chain: Promise<void>;
}

function apiHandler(node: RpsRelay, opts: RpsOptions): ApiHandler {
  const state = new Map<number, ConnState>();
  const answer = async (conn: ApiConnection) => {
    if (conn.closed) return;
    const rec = await node.sample(opts.queryTimeoutMs);
    if (conn.closed) return;
    if (!rec) conn.close(`no live peer known within ${opts.queryTimeoutMs} ms`);
    else conn.send(toRpsPeer(rec));
  };
  return {
    accepts: new Set([MessageType.RPS_QUERY]),
    onConnect: (conn) => state.set(conn.id, { pending: 0, chain: Promise.resolve() }),
    onDisconnect: (conn) => state.delete(conn.id),
    onMessage: (conn, _msg: ApiMessage) => {
      const st = state.get(conn.id);
      if (!st) return;
      if (st.pending >= opts.maxPendingQueries) {
        throw new ApiViolation(`more than ${opts.maxPendingQueries} RPS QUERY waiting for answers`);
      }
      st.pending++;
      // Answers go out in query order: each waits for the one before it.
      st.chain = st.chain
        .then(() => answer(conn))
        .catch((e) => node.log.error(`answering RPS QUERY: ${(e as Error).stack ?? e}`))
        .finally(() => st.pending--);
    },
  };
}

export type RelayClass = new (deps: NodeDeps) => RpsRelay;

export interface RpsModule extends RelayModule {
  readonly node: RpsRelay;
  readonly gossip: GossipFeed | undefined;
  /** Write the store now (`final`: with fsync). */
  save(final?: boolean): Promise<void>;
}

export async function startRps(deps: NodeDeps, Relay: RelayClass = RpsRelay): Promise<RpsModule> {
  const { opts, log } = deps;
  const node = new Relay(deps);
  if (opts.store) {
    try {
      const verify = { minKeyBits: opts.minKeyBits };
      const r = await loadStore(opts.store, node.selfId, node.peers, node.brahms, verify, node.now());
      log.info(`store ${opts.store}: ${r.peers} peers, ${r.samplers} samples loaded, ${r.rejected} rejected`);
    } catch (e) {
      // Availability first: an unusable store costs us the warm start, not the module.
      log.warn(
        `store ${opts.store} not loaded (${(e as Error).message}); starting empty, it will be rewritten`,
      );
    }
  }
  const p2p = await node.links.listen(opts.p2pAddress);
  let api: ApiServer;
  try {
    api = await startApiServer({
      module: 'rps',
      address: opts.apiAddress,
      handler: apiHandler(node, opts),
      log,
    });
  } catch (e) {
    await node.links.close();
    throw e;
  }
  const nse = opts.nseApi ? new NseSource(opts.nseApi, opts.probeTimeoutMs, log) : undefined;
  node.sizeSource = nse ? () => nse.estimate() : undefined;
  const gossip = opts.gossipApi ? startGossip(node, opts, log) : undefined;
  void node.bootstrap(opts.bootstrappers);
  const timers = [
    setInterval(
      () => void node.runRound().catch((e) => log.error(`round: ${(e as Error).stack ?? e}`)),
      opts.roundMs,
    ),
  ];
  // One save at a time; a save asked for meanwhile runs once after it (never a growing queue).
  let saving: Promise<void> | undefined;
  let again = false;
  let durable = false;
  const saveOnce = async (path: string) => {
    do {
      again = false;
      const snap = snapshot(node.selfId, node.peers, node.brahms, node.now());
      await saveStore(path, snap, durable).catch((e) => log.warn(`saving ${path}: ${(e as Error).message}`));
    } while (again);
  };
  const save = (final = false): Promise<void> => {
    if (!opts.store) return Promise.resolve();
    durable ||= final;
    if (saving) {
      again = true;
      return saving;
    }
    saving = saveOnce(opts.store).finally(() => {
      saving = undefined;
    });
    return saving;
  };
  if (opts.store) timers.push(setInterval(() => void save(), opts.saveMs));
  for (const t of timers) t.unref();
  const stopStatus = startStatusLog(log, opts.statusSeconds, () =>
    rpsStatusLine({
      view: node.brahms.view.length,
      viewSize: node.brahms.viewSize,
      samplers: node.brahms.samplers.size,
      peers: node.peers.size,
      networkSize: node.networkSize,
      nse: !!nse,
    }),
  );
  return {
    name: 'rps',
    listening: { api: api.address, p2p },
    node,
    gossip,
    save,
    metrics: () => [
      gauge('voidphone_rps_view', 'Peers in the Brahms view.', node.brahms.view.length),
      gauge('voidphone_rps_view_size', 'Target view size l1.', node.brahms.viewSize),
      gauge('voidphone_rps_samplers', 'Samplers l2.', node.brahms.samplers.size),
      gauge('voidphone_rps_peers_known', 'Peers in the peer table.', node.peers.size),
      gauge(
        'voidphone_rps_network_size',
        'Network size used for sizing (NSE or default_size).',
        node.networkSize,
      ),
    ],
    stop: async () => {
      stopStatus();
      for (const t of timers) clearInterval(t);
      gossip?.stop();
      nse?.close();
      await api.close();
      await node.links.close();
      await save(true);
    },
  };
}

function startGossip(node: RpsRelay, opts: RpsOptions, log: Logger): GossipFeed {
  const feed = new GossipFeed({
    address: opts.gossipApi!,
    log,
    announceMs: opts.announceMs,
    timeoutMs: opts.probeTimeoutMs,
    ownRecord: () => node.refreshOwn().bytes,
    onRecord: (data) => {
      try {
        node.accept(data, 'gossip');
        return true;
      } catch (e) {
        if (!(e instanceof RecordError)) throw e;
        log.debug(`gossip announcement rejected: ${e.message}`);
        return false;
      }
    },
  });
  feed.start();
  log.debug(`announcing through gossip at ${formatAddress(opts.gossipApi!)}`);
  return feed;
}
