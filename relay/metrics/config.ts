// [metrics]: where /metrics and /healthz are served. Optional; loopback only unless allowed.
import type { HostPort } from '../../shared/address.ts';
import type { RelayConfig } from '../config.ts';

export interface MetricsConfig {
  http: HostPort;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

/** undefined when the file has no [metrics] section (no metrics server). */
export function readMetricsConfig(config: RelayConfig): MetricsConfig | undefined {
  const s = config.section('metrics');
  if (!s) return undefined;
  const http = s.address('http_address');
  const allow = s.bool('allow_non_loopback', false);
  // As Tor's MetricsPort: the counts say when this relay carries traffic, which helps whoever
  // watches its links to match flows; only the operator's own monitoring should read them.
  if (!LOOPBACK.test(http.host) && !allow)
    s.fail(
      'http_address',
      `${http.host} is not loopback: the metrics tell anyone who can read them when this relay carries traffic; keep them on 127.0.0.1 (or set allow_non_loopback = true behind a firewall)`,
    );
  return { http };
}
