// The Gossip module (spec 4.2): API 500-503 on api_address, our P2P protocol on p2p_address.
// Protocol and configuration: docs/gossip-protocol.md.
import { startApiServer } from '../api/server.ts';
import type { ModuleFactory, RelayModule } from '../module.ts';
import { LinkViolation } from '../p2p/index.ts';
import { readGossipConfig } from './config.ts';
import { Membership } from './membership.ts';
import { decodeDigest, decodeIHave, decodeIWant, decodePush, GossipType } from './protocol.ts';
import { GossipApi } from './service.ts';
import { Spreader } from './spreader.ts';
import { Subscriptions } from './subscriptions.ts';
import { counter, gauge } from '../metrics/samples.ts';
import { deltas, startStatusLog } from '../status.ts';
import { gossipStatusLine } from './status.ts';

export interface GossipModule extends RelayModule {
  readonly membership: Membership;
  readonly spreader: Spreader;
  readonly subs: Subscriptions;
}

export const create: ModuleFactory = async (ctx) => {
  const section = ctx.config.section('gossip');
  if (!section) throw new Error('no [gossip] section');
  const cfg = readGossipConfig(section);
  const log = ctx.log;
  const subs = new Subscriptions();
  let membership: Membership | undefined;
  const spreader = new Spreader(cfg, subs, () => membership?.links() ?? [], log);
  membership = new Membership(cfg, ctx.hostkey, log, {
    onFrame(link, type, body) {
      if (type === GossipType.PUSH) spreader.onPush(link, decodePush(body));
      else if (type === GossipType.DIGEST) spreader.onDigest(link, decodeDigest(body));
      else if (type === GossipType.IHAVE) spreader.onIHave(link, decodeIHave(body));
      else if (type === GossipType.IWANT) spreader.onIWant(link, decodeIWant(body));
      else throw new LinkViolation(`unknown gossip message type ${type}`);
    },
  });
  await membership.start();
  membership.every(cfg.pullIntervalMs, () => spreader.pull());
  let api: Awaited<ReturnType<typeof startApiServer>>;
  try {
    api = await startApiServer({
      module: 'gossip',
      address: cfg.apiAddress,
      handler: new GossipApi(subs, spreader),
      log,
    });
  } catch (e) {
    await membership.stop();
    throw e;
  }
  const since = deltas(() => spreader.counts);
  const stopStatus = startStatusLog(log, cfg.statusSeconds, (elapsed) =>
    gossipStatusLine(
      {
        neighbours: membership.neighbours.size,
        degree: cfg.degree,
        known: spreader.kb.items.size,
        book: membership.book.size,
        validating: spreader.validating,
      },
      since(),
      elapsed,
    ),
  );
  const mod: GossipModule = {
    name: 'gossip',
    listening: { api: api.address, p2p: membership.address },
    membership,
    spreader,
    subs,
    metrics: () => [
      gauge('voidphone_gossip_neighbours', 'Gossip links to neighbours.', membership.neighbours.size),
      gauge(
        'voidphone_gossip_addresses_known',
        'Addresses in the gossip address book.',
        membership.book.size,
      ),
      gauge('voidphone_gossip_items_cached', 'Items in the knowledge base.', spreader.kb.items.size),
      gauge('voidphone_gossip_items_validating', 'Items awaiting local validation.', spreader.validating),
      counter(
        'voidphone_gossip_announced_total',
        'Items announced through the API here.',
        spreader.counts.announced,
      ),
      counter('voidphone_gossip_received_total', 'New items received from peers.', spreader.counts.received),
      counter('voidphone_gossip_pushes_sent_total', 'PUSH frames sent.', spreader.counts.sent),
      counter('voidphone_gossip_digests_sent_total', 'DIGEST frames sent (pulls).', spreader.counts.digests),
    ],
    async stop() {
      stopStatus();
      spreader.stop();
      await membership.stop();
      await api.close();
    },
  };
  return mod;
};
