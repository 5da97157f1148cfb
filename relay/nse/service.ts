// The NSE API (520/521): every QUERY gets exactly one ESTIMATE, at once, from whatever the engine knows
// now (before the first round finishes: the provisional estimate, see docs/nse-protocol.md).
import type { ApiHandler } from '../api/types.ts';
import type { Estimate } from './estimator.ts';

export function nseApiHandler(estimate: () => Estimate): ApiHandler {
  return {
    accepts: new Set([520]),
    onMessage(conn, msg) {
      if (msg.type !== 520) return; // the server admits only `accepts`
      const e = estimate();
      conn.send({ type: 521, estimate: e.estimate, deviation: e.deviation });
    },
  };
}
