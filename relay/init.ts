// `voidphone-relay init`: a hostkey and a fully commented config for a relay on a public address.
// The comments come from relay/options.ts, the same tables the README and docs are made from.
import { isIP } from 'node:net';
import { formatAddress } from '../shared/address.ts';
import { isUnspecified } from './config.ts';
import { OPTION_SECTIONS, OPTIONS, type OptionSection } from './options.ts';

export interface InitOptions {
  /** The IP peers reach this relay at (p2p_advertise of every section). */
  publicIp: string;
  /** Where the P2P listeners bind (default 0.0.0.0). */
  bindIp: string;
  ports: InitPorts;
  /** Write [metrics] enabled (default: present but commented out). */
  metrics?: boolean;
}

/** P2P listeners (open these), loopback APIs, the bridge. */
export interface InitPorts {
  gossip: number;
  rps: number;
  onion: number;
  dht: number;
  api: { gossip: number; nse: number; rps: number; onion: number; dht: number };
  bridge: number;
  metrics: number;
}

/**
 * `--ports BASE[,name=PORT...]`: P2P ports BASE+1.. (gossip, rps, onion, dht), loopback APIs
 * BASE+11.. (gossip, nse, rps, onion, dht), the bridge BASE+80, metrics BASE+90; name=PORT moves
 * one of them.
 */
export function parsePorts(text: string | undefined): InitPorts {
  const parts = (text ?? '6000').split(',').map((s) => s.trim());
  const base = Number(parts[0]);
  if (!Number.isInteger(base) || base < 1 || base + 80 > 65535)
    throw new Error(`--ports: base "${parts[0]}" must be a port number (1..65455)`);
  const p: InitPorts = {
    gossip: base + 1,
    rps: base + 2,
    onion: base + 3,
    dht: base + 4,
    api: { gossip: base + 11, nse: base + 12, rps: base + 13, onion: base + 14, dht: base + 15 },
    bridge: base + 80,
    metrics: base + 90,
  };
  for (const kv of parts.slice(1)) {
    const m = /^(gossip|rps|onion|dht|bridge|metrics)=(\d{1,5})$/.exec(kv);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
      throw new Error(`--ports: "${kv}" is not NAME=PORT (NAME: gossip, rps, onion, dht, bridge, metrics)`);
    p[m[1] as 'gossip'] = Number(m[2]);
  }
  return p;
}

export function checkInitIp(flag: string, ip: string): void {
  if (!isIP(ip)) throw new Error(`${flag}: "${ip}" is not an IP address`);
  if (flag === '--public-ip' && isUnspecified(ip))
    throw new Error(`--public-ip: ${ip} is no address peers can reach`);
}

/** Markdown of the tables as plain comment text, wrapped at 100 columns. */
function comment(text: string): string[] {
  const plain = text.replaceAll('**', '').replaceAll('`', '');
  const out: string[] = [];
  let line = '#';
  for (const word of plain.split(/\s+/)) {
    if (line.length + word.length + 1 > 100 && line !== '#') {
      out.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  out.push(line);
  return out;
}

/** `off`: the whole section commented out (uncomment its header and keys to enable it). */
function section(name: OptionSection, values: Record<string, string>, off = false): string[] {
  const c = off ? '#' : '';
  const out = ['', `${c}[${name}]`];
  for (const row of OPTIONS[name]) {
    out.push(...comment(`${row.meaning} (default: ${row.default})`));
    for (const key of row.keys) out.push(key in values ? `${c}${key} = ${values[key]}` : `#${key} =`);
  }
  return out;
}

const HEADER = `# VoidPhone relay configuration, written by voidphone-relay init.
# Each option's default applies while its line stays commented out (#key =). Validate changes with
#   voidphone-relay check -c THIS_FILE
# and see docs/operating.md (ports to open, NTP, key backup, upgrades) and README.md "Configuration".
# Open the P2P ports (p2p_address) to the Internet; keep api_address and http_address on loopback.`;

/** The config text; the hostkey is expected next to it as hostkey.pem. */
export function renderInitConfig(o: InitOptions): string {
  const at = (ip: string, port: number) => formatAddress({ host: ip, port });
  const api = (port: number) => at('127.0.0.1', port);
  const p2p = (port: number) => ({ p2p_address: at(o.bindIp, port), p2p_advertise: o.publicIp });
  const values: Record<OptionSection, Record<string, string>> = {
    gossip: { api_address: api(o.ports.api.gossip), ...p2p(o.ports.gossip) },
    nse: { api_address: api(o.ports.api.nse) },
    rps: { api_address: api(o.ports.api.rps), ...p2p(o.ports.rps), store: 'rps.json' },
    onion: { api_address: api(o.ports.api.onion), ...p2p(o.ports.onion) },
    dht: { api_address: api(o.ports.api.dht), ...p2p(o.ports.dht), store: 'dht-store' },
    bridge: { http_address: api(o.ports.bridge) },
    metrics: { http_address: api(o.ports.metrics) },
  };
  const lines = [
    HEADER,
    '',
    '# RSA-4096 private key of this relay (its identity): back it up, keep it 0600.',
  ];
  lines.push('hostkey = hostkey.pem');
  for (const name of OPTION_SECTIONS)
    lines.push(...section(name, values[name], name === 'metrics' && !o.metrics));
  return `${lines.join('\n')}\n`;
}
