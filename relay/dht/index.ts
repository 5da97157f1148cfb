// DHT module (spec 4.3): Kademlia over authenticated P2P links, with S/Kademlia disjoint lookups.
// Protocol and configuration: docs/dht-protocol.md.
import { startApiServer } from '../api/server.ts';
import type { ModuleFactory, RelayModule } from '../module.ts';
import { readDhtConfig } from './config.ts';
import { DhtNode } from './node.ts';
import { dhtApiHandler } from './service.ts';
import { gauge } from '../metrics/samples.ts';
import { startStatusLog } from '../status.ts';
import { dhtStatusLine } from './status.ts';

export const create: ModuleFactory = async (ctx) => {
  const section = ctx.config.section('dht');
  if (!section) throw new Error('no [dht] section in the config');
  const cfg = readDhtConfig(section);
  const node = new DhtNode(cfg, ctx.hostkey, ctx.log);
  await node.start();
  let api: Awaited<ReturnType<typeof startApiServer>>;
  try {
    api = await startApiServer({
      module: 'dht',
      address: cfg.apiAddress,
      handler: dhtApiHandler(node),
      log: ctx.log,
    });
  } catch (e) {
    await node.stop();
    throw e;
  }
  ctx.log.info(
    `dht id ${Buffer.from(node.id).toString('hex').slice(0, 12)}, ${node.routing.size} contacts after bootstrap`,
  );
  const stopStatus = startStatusLog(ctx.log, cfg.statusSeconds, () =>
    dhtStatusLine({ contacts: node.routing.size, values: node.store.size, bytes: node.store.bytes }),
  );
  const module: RelayModule & { node: DhtNode } = {
    name: 'dht',
    listening: { api: api.address, p2p: node.pool.address },
    node,
    metrics: () => [
      gauge('voidphone_dht_contacts', 'Contacts in the routing table.', node.routing.size),
      gauge('voidphone_dht_values', 'Values stored here.', node.store.size),
      gauge('voidphone_dht_stored_bytes', 'Bytes of the values stored here.', node.store.bytes),
    ],
    async stop() {
      stopStatus();
      await api.close();
      await node.stop();
    },
  };
  return module;
};
