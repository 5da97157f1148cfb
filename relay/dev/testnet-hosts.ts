// A testnet spread over hosts on one machine (hosts.ts): relay i runs on host i % hosts, as its own
// process inside that host's namespace, P2P on the host's address, APIs and bridge on the
// namespace's own 127.0.0.1 (so a browser on that host reaches its bridge as on a real machine).
import { startTestnet, type Testnet, type TestnetOptions } from './testnet.ts';
import { type Hosts, type HostsOptions, startHosts } from './hosts.ts';

export interface HostsTestnetOptions
  extends Omit<TestnetOptions, 'relays' | 'mode' | 'p2pHost' | 'advertise' | 'spawnPrefix' | 'beforeStart'> {
  hosts: number;
  relaysPerHost: number;
  wan?: HostsOptions['wan'];
  wanMode?: HostsOptions['wanMode'];
  /**
   * Bind every P2P listener to 0.0.0.0 and advertise the host's address (`p2p_advertise`), as a
   * relay on a server does; default: bind the host's address itself.
   */
  bindAny?: boolean;
}

export interface HostsTestnet extends Testnet {
  hosts: Hosts;
  /** The host relay i runs on. */
  hostOf(relay: number): number;
}

export async function startHostsTestnet(opts: HostsTestnetOptions): Promise<HostsTestnet> {
  const hosts = await startHosts({ hosts: opts.hosts, wan: opts.wan, wanMode: opts.wanMode, log: opts.log });
  const hostOf = (i: number) => i % opts.hosts;
  try {
    const net = await startTestnet({
      ...opts,
      // Every host sits in 198.18.0.0/16: a path may hold relays of one /16 here (on the Internet it
      // may not, see [onion] distinct_subnets).
      set: { 'onion.distinct_subnets': 'false', ...opts.set },
      relays: opts.hosts * opts.relaysPerHost,
      mode: 'processes',
      p2pHost: (i) => hosts.hosts[hostOf(i)]!.address,
      advertise: opts.bindAny ? (i) => hosts.hosts[hostOf(i)]!.address : undefined,
      spawnPrefix: (i) => hosts.hosts[hostOf(i)]!.exec,
      // Every P2P port (not the bridge: browsers reach it on their own host).
      beforeStart: (relays) =>
        hosts.forward(
          relays.flatMap((r) =>
            Object.entries(r.p2p)
              .filter(([m]) => m !== 'bridge')
              .map(([, a]) => Number(a.split(':')[1])),
          ),
        ),
    });
    return {
      ...net,
      hosts,
      hostOf,
      stop: async () => {
        await net.stop();
        await hosts.stop();
      },
    };
  } catch (e) {
    await hosts.stop();
    throw e;
  }
}
