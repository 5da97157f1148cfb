// The soak's figures as lines, and its verdict: no crash, the call carried on within a round after
// every churn event, no relay's heap grew more than 10 % after the reference minute.
import type { SoakResult } from './soak.ts';

/**
 * `judgeGrowth`: false for a soak too short for growth to mean anything (the 2-minute one in npm
 * test: its reference minute is minute 1, and a heap 10 % up a minute later is warm-up, not a leak).
 */
export function report(r: SoakResult, judgeGrowth = true): { ok: boolean; lines: string[] } {
  const lines: string[] = [];
  const lost = r.minutes.map((m) => m.framesLost[0] + m.framesLost[1]);
  const sent = r.minutes.map((m) => m.framesSent[0] + m.framesSent[1]);
  lines.push(
    `soak: ${r.options.minutes} min, ${r.options.relays} relays, round ${r.options.roundSeconds} s, ${r.churn.length} churn events`,
  );
  lines.push(
    `frames lost per minute (both ways): ${lost.join(' ')} (of ${Math.round(sent.reduce((a, b) => a + b, 0) / Math.max(1, sent.length))} sent a minute)`,
  );
  const resumed = r.churn.filter((c) => c.resumedWithinRound).length;
  lines.push(
    `churn events the call carried on through within a round: ${resumed}/${r.churn.length} ` +
      `(times: ${r.churn.map((c) => (c.resumedAfterMs === undefined ? 'never' : `${c.resumedAfterMs} ms`)).join(', ')})`,
  );
  lines.push(`tunnel builds by the caller: ${r.builds}; crashes: ${r.crashes.length}`);
  lines.push(
    `abuse: ${r.abuse.apiConnections} API connections (${(r.abuse.apiBytes / 1e6).toFixed(1)} MB), ` +
      `${r.abuse.p2pConnections} P2P connections (${(r.abuse.p2pBytes / 1e6).toFixed(1)} MB), ${r.abuse.tunnelsAbandoned} tunnels abandoned`,
  );
  let grew = false;
  for (const g of r.growth) {
    const heap = g.heapTo / g.heapFrom - 1;
    const rss = g.rssTo / g.rssFrom - 1;
    if (heap > 0.1 || rss > 0.1) grew = true; // the issue: RSS and heap flat within 10 %
    lines.push(
      `relay ${g.relay} (pid ${g.pid}, never killed): heap ${(g.heapFrom / 2 ** 20).toFixed(1)} -> ${(g.heapTo / 2 ** 20).toFixed(1)} MB (${(heap * 100).toFixed(1)} %), ` +
        `RSS ${(g.rssFrom / 2 ** 20).toFixed(0)} -> ${(g.rssTo / 2 ** 20).toFixed(0)} MB (${(rss * 100).toFixed(1)} %) from minute ${r.referenceMinute} to the end${g.afterGc ? ' (after a full GC)' : ''}`,
    );
  }
  for (const e of r.callErrors.slice(-5)) lines.push(`call: ${e}`);
  const ok = r.crashes.length === 0 && resumed === r.churn.length && (!grew || !judgeGrowth);
  const note = judgeGrowth ? '' : ' (growth not judged: too short)';
  lines.push(`${ok ? 'soak: OK' : 'soak: FAILED'}${note}`);
  return { ok, lines };
}
