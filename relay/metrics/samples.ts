// What a module reports to /metrics: aggregate counts only, the ones its status line already logs.
// Never a peer's address or identity, nor anything per peer or per tunnel: label values are fixed
// words (a direction, a verdict), so a reader learns how busy the relay is, not with whom.

export interface MetricSample {
  /** Prometheus name, voidphone_<module>_<what>; counters end in _total. */
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  value: number;
  labels?: Readonly<Record<string, string>>;
}

export function gauge(
  name: string,
  help: string,
  value: number,
  labels?: Record<string, string>,
): MetricSample {
  return { name, help, type: 'gauge', value, labels };
}

export function counter(
  name: string,
  help: string,
  value: number,
  labels?: Record<string, string>,
): MetricSample {
  return { name, help, type: 'counter', value, labels };
}

const escapeLabel = (v: string) => v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
const escapeHelp = (v: string) => v.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

/** Prometheus text exposition format 0.0.4: samples of one name together, under HELP and TYPE. */
export function renderMetrics(samples: readonly MetricSample[]): string {
  const byName = new Map<string, MetricSample[]>();
  for (const s of samples) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  const out: string[] = [];
  for (const [name, group] of byName) {
    out.push(`# HELP ${name} ${escapeHelp(group[0]!.help)}`, `# TYPE ${name} ${group[0]!.type}`);
    for (const s of group) {
      const labels = Object.entries(s.labels ?? {});
      const l = labels.length ? `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
      out.push(`${name}${l} ${formatValue(s.value)}`);
    }
  }
  return `${out.join('\n')}\n`;
}
