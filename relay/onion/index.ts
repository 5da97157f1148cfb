// The Onion module: anonymous tunnels of fixed-size cells with rounds and cover traffic.
// Wires the parts together: onion keys, links, the circuit router, inbound/outbound tunnels, the API.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { formatAddress } from '../../shared/address.ts';
import { startApiServer } from '../api/server.ts';
import { Ingress } from '../ingress.ts';
import type { ModuleFactory, RelayModule } from '../module.ts';
import { RelayCmd } from './cell.ts';
import { readOnionConfig } from './config.ts';
import { hopTraceRecorder, onionInstances } from './debug.ts';
import type { HopObserver } from './hop.ts';
import { Inbound } from './inbound.ts';
import { LinkManager } from './links.ts';
import { OnionKeys } from './onionkey.ts';
import { Families } from './family.ts';
import { Guards, PathBias } from './guards.ts';
import { buildTo } from './paths.ts';
import { ReassemblyBudget } from './relaymsg.ts';
import { Router } from './router.ts';
import { type PeerSource, RpsPeerSource } from './rps.ts';
import { OnionService } from './service.ts';
import { hopWireStats, newStats } from './stats.ts';
import { onionMetrics } from '../metrics/onion.ts';
import { startStatus } from './status.ts';
import { newWireBudget } from './wireclock.ts';

const MAX_MESSAGE = 65536;

export const create: ModuleFactory = async ({ config, hostkey, log }) => {
  const cfg = readOnionConfig(config);
  const stats = newStats();
  const keys = new OnionKeys(hostkey, cfg.onionKeyRotationSeconds * 1000);
  const selfId = Buffer.from(hostkey.identity).toString('hex');
  const peers: PeerSource = cfg.rpsAddress
    ? new RpsPeerSource(cfg.rpsAddress, cfg.stepTimeoutMs, log)
    : { randomPeer: async () => undefined, close: () => {} };
  if (!cfg.rpsAddress) log.warn('no [rps] api_address: this relay cannot pick hops (it can still relay)');

  // One input queue for links and API alike (each link and connection takes its turn): under overload
  // stale voice is dropped.
  const ingress = new Ingress({
    maxAgeMs: cfg.inputQueueMs,
    onDrop: () => stats.shed++,
    onError: (e) => log.error(`onion: ${(e as Error)?.stack ?? e}`),
  });
  // Partial relay messages of all circuits share one byte budget (a peer cannot make us hold more).
  const reassembly = new ReassemblyBudget(cfg.reassemblyBytes);
  let links!: LinkManager;
  let service!: OnionService;
  const observer: HopObserver = {};
  // Tests only: a curious hop's recording, written out at stop (relays in processes of their own).
  const traceDir = process.env.VOIDPHONE_ONION_HOP_TRACE;
  const trace = traceDir ? hopTraceRecorder() : undefined;
  if (trace) observer.onCell = trace.onCell;
  const wireBudget = newWireBudget(); // every wire clock of this relay (wireclock.ts)
  const hopCtx = {
    observer,
    links: () => links,
    identity: hostkey.identity,
    log,
    stats,
    stepTimeoutMs: cfg.stepTimeoutMs,
    maxMessage: MAX_MESSAGE,
    reassembly,
    extendPrivate: cfg.extendPrivateAddresses,
    shortOfCpu: () => ingress.shortOfCpu(),
    hopClock: cfg.hopClock,
    hopWire: hopWireStats(stats),
    // A budget of their own: a peer flooding circuits through us must not fill the one our own
    // clients' cells wait in.
    wireBudget: newWireBudget(),
  };
  const inbound = new Inbound({
    log,
    stats,
    maxIncoming: cfg.maxIncomingTunnels,
    orphanMs: cfg.buildTimeoutMs + cfg.graceMs + 1000,
    unclaimedMs: cfg.unclaimedTunnelMs,
    coverReply: cfg.coverReply,
    wireClock: cfg.wireClock === 'relay',
    wireBudget,
    connections: () => service.connections(),
    allocTunnelId: () => service.allocTunnelId(),
    releaseTunnelId: (id) => service.releaseTunnelId(id),
  });
  const router = new Router({
    identity: hostkey.identity,
    keys,
    log,
    stats,
    maxCircuitsPerLink: cfg.maxCircuitsPerLink,
    maxHopCircuits: cfg.maxHopCircuits,
    createsPerSecond: cfg.createsPerSecond,
    hop: { ...hopCtx, endpoint: inbound },
  });
  links = new LinkManager({
    identity: hostkey.identity,
    der: hostkey.spkiDer,
    keys,
    log,
    handshakeTimeoutMs: cfg.stepTimeoutMs,
    maxQueuedBytes: cfg.linkQueueBytes,
    circuitQueueCells: cfg.circuitQueueCells,
    circuitQueueMs: cfg.circuitQueueMs,
    windowCells: cfg.linkWindowCells,
    partialCellTimeoutMs: Math.max(1000, cfg.stepTimeoutMs),
    ingress,
    maxLinks: cfg.maxLinks,
    idleLinkMs: cfg.idleLinkMs,
    circuitsOn: (l) => router.count(l),
    onLink: (l) => {
      l.onCell = (cell) => router.onCell(l, cell);
    },
    onLinkClosed: (l) => router.onLinkClosed(l),
  });
  const origin = {
    router,
    links,
    log,
    stats,
    stepTimeoutMs: cfg.stepTimeoutMs,
    maxMessage: MAX_MESSAGE,
    reassembly,
  };
  const guards =
    cfg.numGuards > 0
      ? new Guards({
          file: cfg.guardState ?? join(dirname(config.file), `onion-guards-${selfId.slice(0, 16)}.json`),
          count: cfg.numGuards,
          lifetimeMs: cfg.guardLifetimeDays * 86_400_000,
          downMs: cfg.guardDownSeconds * 1000,
          retryMs: cfg.guardRetrySeconds * 1000,
          log,
        })
      : undefined;
  const bias = new PathBias(log, (id) => guards?.remove(id));
  const families = new Families(selfId, cfg.family, cfg.families, cfg.distinctSubnets);
  service = new OnionService({
    out: {
      origin,
      peers,
      selfId,
      hops: cfg.hops,
      log,
      guards,
      bias,
      families,
      buildTimeoutMs: cfg.buildTimeoutMs,
      graceMs: cfg.graceMs,
      wireClock: cfg.wireClock === 'relay',
      wireBudget,
    },
    roundMs: cfg.roundSeconds * 1000,
    coverTunnel: cfg.coverTunnel,
    coverPhaseRounds: cfg.coverPhaseRounds,
    buildInSlot: cfg.buildInSlot,
    relayCover: cfg.relayCover,
    maxTunnelsPerConnection: cfg.maxTunnelsPerConnection,
  });
  service.inbound = inbound;
  service.ingress = ingress;

  const p2pPort = await links.listen(cfg.p2pAddress.host, cfg.p2pAddress.port);
  // Tests find this instance by the address peers are told (the same as the bound one unless a
  // relay binds 0.0.0.0 and advertises its public IP).
  const p2p = formatAddress({ host: cfg.p2pAdvertise.host, port: cfg.p2pAdvertise.port || p2pPort });
  let api: Awaited<ReturnType<typeof startApiServer>>;
  try {
    api = await startApiServer({ module: 'onion', address: cfg.apiAddress, handler: service, log });
  } catch (e) {
    await links.close();
    keys.stop();
    throw e;
  }
  service.start();
  // Sweep a few times per idle period: a silent circuit goes within 1.25 × idle_circuit_ms.
  const sweep = setInterval(() => router.sweepIdle(cfg.idleCircuitMs), Math.max(250, cfg.idleCircuitMs / 4));
  sweep.unref();
  const gauges = () => {
    const out = [...links.all].filter((l) => l.outbound).length;
    return {
      linksOut: out,
      linksIn: links.all.size - out,
      ownTunnels: service.out.size,
      endingHere: inbound.tunnels.size,
      hopCircuits: router.hopCircuits,
      cover: !!service.cover?.current,
      shortOfCpu: ingress.shortOfCpu(),
    };
  };
  const stopStatus = startStatus(log, cfg.statusSeconds, stats, gauges);
  onionInstances.set(p2p, {
    p2p,
    stats,
    links: () => [...links.all],
    hopCircuits: () => router.hopCircuits,
    outTunnels: () => service.out.size,
    inTunnels: () => inbound.tunnels.size,
    coverReady: () => !!service.cover?.current,
    ingress,
    tunnelPath: (id) => service.out.get(id)?.current?.path.map((p) => `${p.host}:${p.port}`) ?? [],
    guards: () => guards?.ids() ?? [],
    avoided: () => bias.avoidedIds(),
    observeHops: (fn) => {
      observer.onCell = fn;
    },
    coverPath: () => service.cover?.current?.path.map((p) => `${p.host}:${p.port}`) ?? [],
    tryResume: async (id, secret) => {
      const t = service.out.get(id);
      const cur = t?.current;
      if (!t || !cur) return false;
      const s = secret ?? cur.layers[cur.layers.length - 1]!.resumeSecret;
      const outCtx = { origin, peers, selfId, hops: cfg.hops, log, guards, bias, families };
      const circ = await buildTo(outCtx, t.dest, Date.now() + cfg.buildTimeoutMs, async () => true);
      const reply = circ.expect(
        circ.layers.length - 1,
        [RelayCmd.OPENED, RelayCmd.REFUSED],
        cfg.stepTimeoutMs,
      );
      circ.send(RelayCmd.RESUME, s);
      const m = await reply;
      circ.close('probe done');
      return m?.cmd === RelayCmd.OPENED;
    },
  });

  const module: RelayModule = {
    name: 'onion',
    listening: { api: api.address, p2p: formatAddress({ host: cfg.p2pAddress.host, port: p2pPort }) },
    metrics: () => onionMetrics(gauges(), stats),
    async stop() {
      stopStatus();
      clearInterval(sweep);
      onionInstances.delete(p2p);
      if (trace) writeFileSync(join(traceDir!, `${selfId}.json`), JSON.stringify(trace.traces()));
      service.stop();
      inbound.close();
      peers.close();
      keys.stop();
      await api.close();
      await links.close();
    },
  };
  return module;
};
