// N gossip instances in this process on 127.0.0.1, built straight from the module factory so tests
// and the benchmark can look inside (neighbours, knowledge base). Node 0 bootstraps everyone.
// (testnet.ts runs whole relays; this is the gossip-only, white-box variant.)
import { createServer, type AddressInfo } from 'node:net';
import { parseConfigText } from '../config.ts';
import { loadHostkey } from '../hostkey.ts';
import { createLogger, type Logger } from '../log.ts';
import { create, type GossipModule } from '../gossip/index.ts';

export interface GossipNode {
  readonly index: number;
  readonly api: string;
  readonly p2p: string;
  module: GossipModule | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface GossipNet {
  nodes: GossipNode[];
  running(): GossipNode[];
  stop(): Promise<void>;
}

export interface GossipNetOptions {
  /** Hostkey PEM paths, one per node. */
  keys: string[];
  /** Extra [gossip] options for every node, e.g. { pow_bits: '8' }. */
  set?: Record<string, string>;
  log?: Logger;
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => {
      const s = createServer();
      return new Promise<typeof s>((res, rej) => {
        s.once('error', rej);
        s.listen(0, '127.0.0.1', () => res(s));
      });
    }),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export async function startGossipNet(opts: GossipNetOptions): Promise<GossipNet> {
  const log = opts.log ?? createLogger('gossipnet', 'warn');
  const n = opts.keys.length;
  const ports = await freePorts(2 * n);
  const p2p = (i: number) => `127.0.0.1:${ports[2 * i + 1]}`;
  const nodes: GossipNode[] = [];
  for (let i = 0; i < n; i++) {
    const hostkey = await loadHostkey(opts.keys[i]!);
    const lines = [`hostkey = ${opts.keys[i]}`, '[gossip]', `api_address = 127.0.0.1:${ports[2 * i]}`];
    lines.push(`p2p_address = ${p2p(i)}`);
    if (i > 0) lines.push(`bootstrapper = ${p2p(0)}`);
    for (const [k, v] of Object.entries(opts.set ?? {})) lines.push(`${k} = ${v}`);
    const config = parseConfigText(`/gossipnet/relay-${i}.ini`, lines.join('\n'));
    const node: GossipNode = {
      index: i,
      api: `127.0.0.1:${ports[2 * i]}`,
      p2p: p2p(i),
      module: undefined,
      async start() {
        if (node.module) return;
        node.module = (await create({ config, hostkey, log: log.child(`g${i}`) })) as GossipModule;
      },
      async stop() {
        const m = node.module;
        node.module = undefined;
        await m?.stop();
      },
    };
    nodes.push(node);
  }
  const net: GossipNet = {
    nodes,
    running: () => nodes.filter((x) => x.module),
    stop: async () => {
      await Promise.all(nodes.map((x) => x.stop()));
    },
  };
  try {
    await nodes[0]!.start();
    await Promise.all(nodes.slice(1).map((x) => x.start()));
  } catch (e) {
    await net.stop();
    throw e;
  }
  return net;
}

/** Resolve once `ok()` holds, checking every `everyMs`; reject after `timeoutMs`. */
export function waitFor(ok: () => boolean, timeoutMs: number, what: string, everyMs = 50): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      if (ok()) return resolve();
      if (Date.now() - started > timeoutMs)
        return reject(new Error(`timed out after ${timeoutMs} ms: ${what}`));
      setTimeout(check, everyMs);
    };
    check();
  });
}
