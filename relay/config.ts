// INI config -> typed values. Each module reads its own lower-case section through ConfigSection's
// getters, which apply the documented default and throw a ConfigError naming file, section and key.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'ini';
import { type HostPort, parseAddress } from '../shared/address.ts';

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
  ) {}

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
  const globals: Raw = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (v !== null && typeof v === 'object') {
      const raw: Raw = {};
      for (const [sk, sv] of Object.entries(v as Record<string, unknown>)) raw[sk] = String(sv);
      sections.set(k, new ConfigSection(file, k, raw));
    } else {
      globals[k] = String(v);
    }
  }
  const hostkey = globals.hostkey?.trim();
  if (!hostkey)
    throw new ConfigError(`${file}: hostkey: missing (global "hostkey = PATH" before any section)`);
  return {
    file,
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
