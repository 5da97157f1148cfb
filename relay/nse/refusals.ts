// Refused claims in the log: forgers must not be able to flood it.
import type { Logger } from '../log.ts';
import type { ClaimError, ClaimErrorCode } from './claim.ts';

/** Refusals are logged at most once a second per reason (forgers must not flood the log). */
export class RefusalLog {
  private readonly last = new Map<ClaimErrorCode, { at: number; muted: number }>();

  note(e: ClaimError, log: Logger, now: number): void {
    const entry = this.last.get(e.code);
    if (entry && now - entry.at < 1000) {
      entry.muted++;
      return;
    }
    const muted = entry?.muted ? ` (+${entry.muted} more)` : '';
    this.last.set(e.code, { at: now, muted: 0 });
    // Late or early rounds happen to honest peers (clock skew, slow floods); the rest is forgery or bugs.
    const honest = e.code === 'STALE_ROUND' || e.code === 'FUTURE_ROUND';
    log[honest ? 'debug' : 'info'](`claim refused: ${e.message}${muted}`);
  }
}
