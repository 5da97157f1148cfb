// The NSE module's status line (see relay/status.ts).
import type { Estimate } from './estimator.ts';

/**
 * `judged`: claims Gossip asked us about since the last line, by verdict ('valid' or a refusal
 * code); `sent`: our own claims announced since then.
 */
export function nseStatusLine(
  e: Estimate,
  gossipUp: boolean,
  sent: number,
  judged: Record<string, number>,
  elapsedS: number,
): string {
  const refused = Object.entries(judged).filter(([k, n]) => k !== 'valid' && n > 0);
  const refusedText = refused.length
    ? `, refused ${refused.map(([k, n]) => `${n} ${k}`).join(', ')}`
    : ', none refused';
  return (
    `estimate ${e.estimate} peers (deviation ${e.deviation}, ${e.rounds} rounds); ` +
    `gossip API ${gossipUp ? 'connected' : 'down'}; last ${Math.round(elapsedS)} s: ` +
    `${sent} own claims sent, ${judged.valid ?? 0} claims valid${refusedText}`
  );
}
