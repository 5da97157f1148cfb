// [metrics] (issue 16): /metrics in the Prometheus text format, read with a real parser from npm
// (parse-prometheus-text-format); its counters move when a tunnel carries data on a small testnet;
// nothing in it names a peer (no identity, no address); /healthz; loopback only unless allowed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import parsePrometheusTextFormat, { type MetricFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../relay/api/client.ts';
import { parseConfigText } from '../../relay/config.ts';
import { loadHostkey } from '../../relay/hostkey.ts';
import { createLogger } from '../../relay/log.ts';
import { readMetricsConfig } from '../../relay/metrics/config.ts';
import { startTestnet, type Testnet } from '../../relay/dev/testnet.ts';
import { parseAddress } from '../../shared/address.ts';
import { MessageType } from '../../shared/wire/types.ts';
import { FAST } from './rps-helpers.ts';

const N = 5;
let net: Testnet;

beforeAll(async () => {
  net = await startTestnet({
    relays: N,
    set: {
      ...FAST,
      'gossip.pow_bits': '4',
      'nse.pow_bits': '4',
      'dht.pow_bits': '4',
      'onion.round_seconds': '3600',
      'onion.cover_tunnel': 'false',
      'metrics.http_address': '127.0.0.1:0',
    },
    log: createLogger('testnet', 'warn'),
  });
}, 120_000);

afterAll(async () => {
  await net?.stop();
});

function metricsUrl(i: number, path = '/metrics'): string {
  const m = net.relays[i]!.modules().find((x) => x.name === 'metrics');
  return `http://${m!.listening.http}${path}`;
}

async function scrape(i: number): Promise<{ text: string; families: MetricFamily[] }> {
  const res = await fetch(metricsUrl(i), { signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, families: parsePrometheusTextFormat(text) };
}

/** Sum of a family's samples (all label values). */
function value(families: MetricFamily[], name: string): number {
  const f = families.find((x) => x.name === name);
  if (!f) throw new Error(`no ${name}`);
  return f.metrics.reduce((s, m) => s + Number(m.value), 0);
}

it('serves every module’s counts in the Prometheus text format', async () => {
  const { families } = await scrape(0);
  const names = new Set(families.map((f) => f.name));
  for (const n of [
    'voidphone_up',
    'voidphone_gossip_neighbours',
    'voidphone_nse_estimate_peers',
    'voidphone_rps_peers_known',
    'voidphone_dht_contacts',
    'voidphone_onion_links',
    'voidphone_onion_cells_forwarded_total',
    'voidphone_onion_circuits_built_total',
    'voidphone_onion_build_failures_total',
    'voidphone_onion_dropped_overload_total',
  ])
    expect(names, n).toContain(n);
  for (const f of families) {
    expect(['COUNTER', 'GAUGE']).toContain(f.type);
    if (f.type === 'COUNTER') expect(f.name).toMatch(/_total$/);
    for (const m of f.metrics) expect(Number.isFinite(Number(m.value)), f.name).toBe(true);
  }
});

it('counters move when a tunnel carries data, and nothing names a peer', async () => {
  const before = await Promise.all(net.relays.map((_, i) => scrape(i)));
  const a = await ApiClient.connect(net.relays[0]!.api.onion!, { timeoutMs: 10_000 });
  const d = await ApiClient.connect(net.relays[4]!.api.onion!, { timeoutMs: 10_000 });
  const MESSAGES = 20;
  try {
    const dest = parseAddress(net.relays[4]!.p2p.onion!);
    const { spkiDer } = await loadHostkey(net.relays[4]!.hostkeyPath);
    const inc = d.next(MessageType.ONION_TUNNEL_INCOMING);
    const ready = await a.request(
      { type: MessageType.ONION_TUNNEL_BUILD, address: dest.host, port: dest.port, hostkey: spkiDer },
      MessageType.ONION_TUNNEL_READY,
      30_000,
    );
    const inId = (await inc).tunnelId;
    for (let k = 0; k < MESSAGES; k++) {
      const data = new Uint8Array(100).fill(k);
      const got = d.next(MessageType.ONION_TUNNEL_DATA);
      a.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: ready.tunnelId, data });
      await got;
      const back = a.next(MessageType.ONION_TUNNEL_DATA);
      d.send({ type: MessageType.ONION_TUNNEL_DATA, tunnelId: inId, data });
      await back;
    }
    const after = await Promise.all(net.relays.map((_, i) => scrape(i)));
    const grew = (name: string, i: number) =>
      value(after[i]!.families, name) - value(before[i]!.families, name);
    expect(grew('voidphone_onion_circuits_built_total', 0)).toBeGreaterThanOrEqual(1);
    expect(grew('voidphone_onion_data_messages_in_total', 4)).toBeGreaterThanOrEqual(MESSAGES);
    expect(grew('voidphone_onion_data_messages_out_total', 4)).toBeGreaterThanOrEqual(MESSAGES);
    expect(value(after[0]!.families, 'voidphone_onion_tunnels_own')).toBeGreaterThanOrEqual(1);
    expect(value(after[4]!.families, 'voidphone_onion_tunnels_ending_here')).toBeGreaterThanOrEqual(1);
    // The two hops forwarded the cells (at least one cell per message, hop and direction).
    const forwarded = [1, 2, 3].map((i) => grew('voidphone_onion_cells_forwarded_total', i));
    expect(forwarded.filter((n) => n >= 2 * MESSAGES).length).toBeGreaterThanOrEqual(2);

    // No identity, no address, no port of any relay, in any relay's metrics.
    for (const { text } of after) {
      for (const r of net.relays) {
        expect(text).not.toContain(r.identity);
        expect(text).not.toContain(r.identity.slice(0, 12));
        // A whole token: a value such as a byte count may contain the digits.
        for (const addr of [...Object.values(r.p2p), ...Object.values(r.api)])
          expect(text).not.toMatch(new RegExp(`(?<![\\d.])${parseAddress(addr).port}(?![\\d.])`));
      }
      expect(text).not.toMatch(/\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}/);
      expect(text).not.toMatch(/[0-9a-f]{16}/);
    }
  } finally {
    a.close();
    d.close();
  }
}, 90_000);

it('docs/operating.md explains every metric served', async () => {
  const doc = readFileSync(join(import.meta.dirname, '../../docs/operating.md'), 'utf8');
  const { families } = await scrape(1);
  for (const f of families) expect(doc, f.name).toContain(`\`${f.name}`);
});

it('/healthz says ok; other paths and methods are refused', async () => {
  const ok = await fetch(metricsUrl(2, '/healthz'));
  expect(ok.status).toBe(200);
  expect(await ok.text()).toBe('ok\n');
  expect((await fetch(metricsUrl(2, '/'))).status).toBe(404);
  expect((await fetch(metricsUrl(2), { method: 'POST', body: 'x' })).status).toBe(405);
});

describe('[metrics] config', () => {
  const read = (body: string) =>
    readMetricsConfig(parseConfigText('/etc/voidphone/relay.ini', `hostkey = k\n[metrics]\n${body}\n`));

  it('serves on loopback; no section, no server', () => {
    expect(read('http_address = 127.0.0.1:9100')).toEqual({ http: { host: '127.0.0.1', port: 9100 } });
    expect(read('http_address = [::1]:9100')).toEqual({ http: { host: '::1', port: 9100 } });
    expect(readMetricsConfig(parseConfigText('/x.ini', 'hostkey = k\n'))).toBeUndefined();
  });

  it('refuses a non-loopback address unless allowed, naming file, section and key', () => {
    expect(() => read('http_address = 0.0.0.0:9100')).toThrow(
      /^\/etc\/voidphone\/relay\.ini: \[metrics\] http_address: 0\.0\.0\.0 is not loopback/,
    );
    expect(() => read('http_address = 198.51.100.4:9100')).toThrow(/\[metrics\] http_address/);
    expect(read('http_address = 0.0.0.0:9100\nallow_non_loopback = true')?.http.host).toBe('0.0.0.0');
    expect(() => read('# none')).toThrow(/\[metrics\] http_address: missing/);
  });
});
