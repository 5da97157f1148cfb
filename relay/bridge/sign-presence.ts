// What the bridge agrees to sign as presence: only a record of the current or the next round (by
// this relay's clock), in the exact layout of shared/presence/layout.ts, with a timestamp inside
// that round. Whoever steals the bridge token can then only announce the user for a round or two,
// not pre-sign records for later.
// One grace: the round that just ended, during the first SKEW_MS of the new one. A page's clock is
// the relay's corrected by the hello's timestamp, which a loaded machine delivers late, so the page
// can believe it is still the previous round; friends accept that skew anyway (SKEW_MS).
import { parseSignedPresence, roundOf, SKEW_MS } from '../../shared/presence/layout.ts';

/** null if the bridge may sign `data` as presence now; otherwise the reason it refuses. */
export function presenceSignRefusal(data: Uint8Array, nowMs: number, roundMs: number): string | null {
  const s = parseSignedPresence(data);
  if (!s) return 'not a presence record of this version';
  const current = roundOf(nowMs, roundMs);
  const round = s.header.round;
  const justEnded = round === current - 1 && nowMs < current * roundMs + SKEW_MS;
  if (round !== current && round !== current + 1 && !justEnded)
    return `presence for round ${round} refused: only the current (${current}) or next round is signed`;
  const start = round * roundMs;
  if (s.timestamp < start - SKEW_MS || s.timestamp > start + roundMs + SKEW_MS)
    return 'presence timestamp outside its round';
  return null;
}
