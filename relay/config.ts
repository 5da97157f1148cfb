// INI config -> typed values. Each module reads its own lower-case section through ConfigSection's
// getters, which apply the documented default and throw a ConfigError naming file, section and key.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'ini';
import { isIP } from 'node:net';
import { formatAddress, type HostPort, parseAddress } from '../shared/address.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const MODULE_SECTIONS = ['gossip', 'nse', 'rps', 'onion', 'dht', 'bridge'] as const;
export type ModuleName = (typeof MODULE_SECTIONS)[number];

type Raw = Record<string, string>;

export class ConfigSection {
  readonly used = new Set<string>();
  constructor(
    readonly file: string,
    readonly name: string,
    private readonly raw: Raw,
    /** Shared by all sections of one file: deprecation notices, logged once at start and by `check`. */
    readonly warnings: Set<string> = new Set(),
  ) {}

  /** A notice about `key` (e.g. deprecated) that does not stop the relay. */
  warn(key: string, message: string): void {
    this.warnings.add(`${this.where(key)}: ${message}`);
  }

  private where(key: string): string {
    return `${this.file}: [${this.name}] ${key}`;
  }

  fail(key: string, problem: string): never {
    throw new ConfigError(`${this.where(key)}: ${problem}`);
  }

  /** Keys present in the file that no getter asked for (likely typos). */
  unusedKeys(): string[] {
    return Object.keys(this.raw).filter((k) => !this.used.has(k));
  }

  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== '';
  }

  private get(key: string): string | undefined {
    this.used.add(key);
    const v = this.raw[key];
    return v === undefined || v === '' ? undefined : String(v).trim();
  }

  string(key: string, fallback?: string): string {
    const v = this.get(key) ?? fallback;
    if (v === undefined) this.fail(key, 'missing (required)');
    return v;
  }

  optionalString(key: string): string | undefined {
    return this.get(key);
  }

  int(key: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.get(key);
    if (v === undefined) return fallback;
    if (!/^-?\d+$/.test(v)) this.fail(key, `"${v}" is not a whole number`);
    const n = Number(v);
    if (n < min || n > max) this.fail(key, `${n} is out of range (${min}..${max})`);
    return n;
  }

  number(key: string, fallback: number, min = 0, max = Number.MAX_VALUE): number {
    const v = this.get(key);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n)) this.fail(key, `"${v}" is not a number`);
    if (n < min || n > max) this.fail(key, `${n} is out of range (${min}..${max})`);
    return n;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.get(key);
    if (v === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(v)) return true;
    if (/^(0|false|no|off)$/i.test(v)) return false;
    return this.fail(key, `"${v}" is not a boolean (true/false)`);
  }

  address(key: string, fallback?: string): HostPort {
    const v = this.get(key) ?? fallback;
    if (v === undefined) this.fail(key, 'missing (required address host:port)');
    try {
      return parseAddress(v);
    } catch (e) {
      return this.fail(key, `bad address "${v}": ${(e as Error).message}`);
    }
  }

  /** Comma- or space-separated addresses; empty list when absent. */
  addressList(key: string): HostPort[] {
    const v = this.get(key);
    if (v === undefined) return [];
    return v
      .split(/[\s,]+/)
      .filter(Boolean)
      .map((a) => {
        try {
          return parseAddress(a);
        } catch (e) {
          return this.fail(key, `bad address "${a}": ${(e as Error).message}`);
        }
      });
  }

  /** Path option, resolved relative to the config file's folder. */
  path(key: string, fallback?: string): string {
    const v = this.get(key) ?? fallback;
    if (v === undefined) this.fail(key, 'missing (required path)');
    return resolve(dirname(this.file), v);
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const v = this.get(key);
    if (v === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(v))
      this.fail(key, `"${v}" is not one of ${allowed.join(', ')}`);
    return v as T;
  }
}

export interface RelayConfig {
  /** Absolute path of the INI file. */
  readonly file: string;
  /** Notices (deprecated keys) collected by the readers so far. */
  readonly warnings: Set<string>;
  /** Absolute path of the hostkey PEM. */
  readonly hostkeyPath: string;
  /** Sections present in the file, by lower-case name. */
  readonly sections: ReadonlyMap<string, ConfigSection>;
  section(name: string): ConfigSection | undefined;
}

export function parseConfigText(file: string, text: string): RelayConfig {
  let parsed: Record<string, unknown>;
  try {
    parsed = parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: cannot parse INI: ${(e as Error).message}`);
  }
  const sections = new Map<string, ConfigSection>();
  const warnings = new Set<string>();
  const globals: Raw = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (v !== null && typeof v === 'object') {
      const raw: Raw = {};
      for (const [sk, sv] of Object.entries(v as Record<string, unknown>)) raw[sk] = String(sv);
      sections.set(k, new ConfigSection(file, k, raw, warnings));
    } else {
      globals[k] = String(v);
    }
  }
  const hostkey = globals.hostkey?.trim();
  if (!hostkey)
    throw new ConfigError(`${file}: hostkey: missing (global "hostkey = PATH" before any section)`);
  return {
    file,
    warnings,
    hostkeyPath: resolve(dirname(file), hostkey),
    sections,
    section: (name) => sections.get(name),
  };
}

export function loadConfig(path: string): RelayConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(
      `${file}: cannot read config file (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return parseConfigText(file, text);
}

/**
 * A P2P listener's two addresses: where it binds (`p2p_address`, may be 0.0.0.0 or ::) and what
 * peers are told (`p2p_advertise`, an IP, optionally with a port when a NAT forwards another one).
 * Every section with a P2P listener (gossip, rps, onion, dht) reads them through here, so the keys
 * mean the same everywhere.
 */
export interface P2pEndpoint {
  bind: HostPort;
  /** Port 0 when the listener takes any free port and nothing else was configured. */
  advertise: HostPort;
}

const UNSPECIFIED_HOSTS = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0']);

export function isUnspecified(host: string): boolean {
  return UNSPECIFIED_HOSTS.has(host);
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** The key that lets a section's relay use private addresses: a test network on one machine. */
export function privateAddressesKey(section: string): string {
  return section === 'onion' ? 'extend_private_addresses' : 'dial_private_addresses';
}

/** "ip", "ip:port", "v6" or "[v6]:port"; the port defaults to the bound one. */
function parseAdvertise(s: ConfigSection, text: string, bindPort: number): HostPort {
  if (isIP(text)) return { host: text, port: bindPort };
  try {
    const a = parseAddress(text);
    if (isIP(a.host)) return a;
  } catch {}
  return s.fail('p2p_advertise', `"${text}" is not an IP address (optionally with :port)`);
}

/** [onion] p2p_hostname + p2p_port, as they were before p2p_address (one release of warnings). */
function legacyOnionBind(s: ConfigSection): HostPort | undefined {
  if (s.name !== 'onion' || !(s.has('p2p_hostname') || s.has('p2p_port'))) return undefined;
  if (s.has('p2p_address'))
    s.fail('p2p_hostname', 'p2p_hostname/p2p_port are replaced by p2p_address: remove them');
  const host = s.string('p2p_hostname', '127.0.0.1');
  const port = s.int('p2p_port', 0, 0, 65535);
  const bind = formatAddress({ host, port });
  s.warn('p2p_hostname', `p2p_hostname/p2p_port are deprecated: write "p2p_address = ${bind}"`);
  try {
    return parseAddress(bind);
  } catch (e) {
    return s.fail('p2p_hostname', `bad address "${bind}": ${(e as Error).message}`);
  }
}

/**
 * Reads p2p_address and p2p_advertise of section `s`. `bindDefault`: p2p_address when absent
 * (undefined: required). An unspecified advertised address is refused, and so is a loopback one on
 * a listener bound beyond loopback (peers on other machines could never reach it) unless the
 * section's private-addresses key is set to true (a test network of loopback aliases).
 */
export function readP2pEndpoint(s: ConfigSection, bindDefault?: string): P2pEndpoint {
  const bind = legacyOnionBind(s) ?? s.address('p2p_address', bindDefault);
  const text = s.optionalString('p2p_advertise');
  let advertise: HostPort;
  if (text !== undefined) advertise = parseAdvertise(s, text, bind.port);
  else if (bind.host === 'localhost') advertise = { host: '127.0.0.1', port: bind.port };
  else if (isIP(bind.host) && !isUnspecified(bind.host)) advertise = bind;
  else
    return s.fail(
      'p2p_advertise',
      `missing: p2p_address binds "${bind.host}", which tells peers nothing; set the public IP peers reach this relay at`,
    );
  if (isUnspecified(advertise.host))
    s.fail('p2p_advertise', `${advertise.host} is no address peers can reach; set the public IP`);
  const key = privateAddressesKey(s.name);
  const privateNet = s.has(key) && s.bool(key, false);
  if (isLoopback(advertise.host) && !isLoopback(bind.host) && !privateNet)
    s.fail(
      'p2p_advertise',
      `advertises loopback ${advertise.host} while bound to ${bind.host}: peers on other machines cannot reach it; set p2p_advertise to the public IP (or ${key} = true for a test network on one machine)`,
    );
  return { bind, advertise };
}
