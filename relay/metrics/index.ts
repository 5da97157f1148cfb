// The optional metrics server: GET /metrics (Prometheus text format, aggregate counts of every
// module running in this relay) and GET /healthz ("ok" while the relay runs). See docs/operating.md.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { formatAddress } from '../../shared/address.ts';
import type { Logger } from '../log.ts';
import type { RelayModule } from '../module.ts';
import type { MetricsConfig } from './config.ts';
import { counter, gauge, type MetricSample, renderMetrics } from './samples.ts';

const started = Date.now();

function processSamples(): MetricSample[] {
  const cpu = process.cpuUsage();
  return [
    gauge('voidphone_up', 'The relay runs (always 1 when this answers).', 1),
    gauge('voidphone_start_time_seconds', 'When this relay process started, Unix time.', started / 1000),
    gauge(
      'process_resident_memory_bytes',
      'Resident memory of the relay process.',
      process.memoryUsage.rss(),
    ),
    counter(
      'process_cpu_seconds_total',
      'CPU time of the relay process (user + system).',
      (cpu.user + cpu.system) / 1e6,
    ),
  ];
}

export interface MetricsServer extends RelayModule {
  readonly name: 'metrics';
}

/** `modules`: the relay's running modules, read at each request. */
export async function startMetrics(
  cfg: MetricsConfig,
  modules: () => readonly RelayModule[],
  log: Logger,
): Promise<MetricsServer> {
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    let body: string;
    try {
      body = renderMetrics([...processSamples(), ...modules().flatMap((m) => m.metrics?.() ?? [])]);
    } catch (e) {
      log.error(`metrics: ${(e as Error).message}`);
      res.writeHead(500).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
  };
  const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, handle);
  server.maxConnections = 16; // a scraper or two; anything more is not monitoring
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(cfg.http.port, cfg.http.host, () => res());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : cfg.http.port;
  return {
    name: 'metrics',
    listening: { http: formatAddress({ host: cfg.http.host, port }) },
    stop: () =>
      new Promise<void>((res) => {
        server.close(() => res());
        server.closeAllConnections();
      }),
  };
}
