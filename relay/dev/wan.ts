// WAN conditions between hosts on one machine: what `--wan delay=40ms,jitter=5ms,loss=1%,rate=10mbit`
// means, and the one interface both emulators offer (applyWan on a host's link). With netem in the
// kernel, the router's port toward each host gets a netem qdisc; without it (this machine's kernel),
// a userspace forwarder (wan-forwarder.mjs) applies the same figures to TCP streams.

export interface WanConditions {
  /** Round-trip time added between two hosts, ms: each direction is held delayMs / 2. */
  delayMs: number;
  /** Each direction's delay varies by up to ± jitterMs (uniformly). */
  jitterMs: number;
  /** Fraction of packets lost per direction (0.01 = 1 %). */
  loss: number;
  /** Bits per second into each host (its downlink); 0 = unlimited. */
  rateBps: number;
  /** Userspace forwarder only: time to recover a lost segment; 0 = max(2 RTT, 10 ms). */
  rtoMs: number;
}

export const NO_WAN: WanConditions = { delayMs: 0, jitterMs: 0, loss: 0, rateBps: 0, rtoMs: 0 };

function ms(key: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(v);
  if (!m) throw new Error(`--wan ${key}=${v}: expected a time such as 40ms or 0.1s`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

function rate(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit)?$/i.exec(v);
  if (!m) throw new Error(`--wan rate=${v}: expected bits per second such as 10mbit or 512kbit`);
  const unit = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 }[(m[2] ?? 'bit').toLowerCase()]!;
  return Number(m[1]) * unit;
}

/** "delay=40ms,jitter=5ms,loss=1%,rate=10mbit,rto=200ms" (any subset, any order). */
export function parseWan(spec: string): WanConditions {
  const c = { ...NO_WAN };
  for (const item of spec.split(',').filter(Boolean)) {
    const [key, v = ''] = item.split('=');
    if (key === 'delay') c.delayMs = ms(key, v);
    else if (key === 'jitter') c.jitterMs = ms(key, v);
    else if (key === 'rto') c.rtoMs = ms(key, v);
    else if (key === 'rate') c.rateBps = rate(v);
    else if (key === 'loss') {
      const m = /^(\d+(?:\.\d+)?)%$/.exec(v);
      if (!m || Number(m[1]) > 100) throw new Error(`--wan loss=${v}: expected a percentage such as 1%`);
      c.loss = Number(m[1]) / 100;
    } else throw new Error(`--wan ${item}: unknown (delay, jitter, loss, rate, rto)`);
  }
  return c;
}

export function formatWan(c: WanConditions): string {
  const parts = [`RTT +${c.delayMs} ms`];
  if (c.jitterMs) parts.push(`jitter ±${c.jitterMs} ms`);
  if (c.loss) parts.push(`loss ${(c.loss * 100).toFixed(2)} %`);
  if (c.rateBps) parts.push(`rate ${c.rateBps / 1e6} Mbit/s`);
  return parts.join(', ');
}

/** The arguments of `tc qdisc replace dev DEV root netem ...` for one direction of these conditions. */
export function netemArgs(c: WanConditions): string[] {
  const args = ['delay', `${c.delayMs / 2}ms`];
  if (c.jitterMs) args.push(`${c.jitterMs}ms`);
  if (c.loss) args.push('loss', `${c.loss * 100}%`);
  if (c.rateBps) args.push('rate', `${Math.round(c.rateBps)}bit`);
  return args;
}
