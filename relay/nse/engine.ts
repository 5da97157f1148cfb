// The NSE algorithm on a wall clock: opens a board per round, floods our claim at the moment its
// quality deserves (only while no better claim has been seen), judges incoming claims for Gossip's
// VALIDATION, and closes each round into the history. Talks to Gossip only through `announce`.
import { toHex } from '../../shared/identity.ts';
import type { Logger } from '../log.ts';
import { CLAIM_VERSION, ClaimError, type ClaimErrorCode, decodeClaim, encodeClaim } from './claim.ts';
import { type Estimate, History, provisionalEstimate, RoundBoard } from './estimator.ts';
import { expectedBest, proximities, roundKeys, roundStart, sendDelay } from './round.ts';
import { authenticate, checkRound, type VerifyParams } from './verify.ts';

export interface NseParams extends VerifyParams {
  readonly historyRounds: number;
  /** Fraction of the round in which claims are sent; the rest lets the last floods finish. */
  readonly sendWindow: number;
}

export interface Self {
  readonly identity: Uint8Array;
  readonly spkiDer: Uint8Array;
  sign(data: Uint8Array): Uint8Array;
  /** Proof of work on our identity; claims are sent once it is found. */
  readonly powNonce: Promise<Uint8Array>;
}

export interface EngineDeps {
  params: NseParams;
  self: Self;
  /** Hand a claim to Gossip; false when Gossip is not reachable right now. */
  announce(data: Uint8Array): boolean;
  /** Since when the Gossip connection (with NOTIFY) has been up without a break; undefined while down. */
  gossipUpSince(): number | undefined;
  log: Logger;
  now?: () => number;
}

export type Verdict = { valid: true } | { valid: false; code: ClaimErrorCode };

export class NseEngine {
  readonly history: History;
  /** Incoming claims by verdict ('valid' or a ClaimErrorCode), for logs and tests. */
  readonly stats = new Map<string, number>();
  /** Our own claims sent, by round start. */
  readonly sent = new Map<number, Uint8Array>();
  private readonly boards = new Map<number, RoundBoard>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly now: () => number;
  private readonly startedAt: number;
  private pow: Uint8Array | undefined;
  /** The last round that could not enter the history; better than nothing before the first one. */
  private partial: RoundBoard | undefined;
  /** The last round closed, complete or not. */
  private lastClosed: RoundBoard | undefined;
  private readonly refusals = new RefusalLog();
  private stopped = false;

  constructor(private readonly deps: EngineDeps) {
    this.now = deps.now ?? Date.now;
    this.startedAt = this.now();
    this.history = new History(deps.params.historyRounds);
    deps.self.powNonce.then(
      (n) => {
        this.pow = n;
      },
      (e) => deps.log.error(`proof of work failed: ${(e as Error).message}`),
    );
  }

  start(): void {
    this.openRound(roundStart(this.now(), this.deps.params.roundMs));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /**
   * The ESTIMATE: from the history of finished rounds; before the first one, from the best of the last
   * incomplete round and the current round so far (at least our own claim).
   */
  estimate(): Estimate {
    const cur = this.current();
    const best = this.partial && (!cur || this.partial.meanBest() > cur.meanBest()) ? this.partial : cur;
    return this.history.estimate() ?? provisionalEstimate(best);
  }

  /**
   * Judge a claim Gossip delivered: valid (V=1, Gossip spreads it) iff authentic and of the current
   * round. A genuine claim that is no better than what we have is still valid: VALIDATION says "well
   * formed", and Gossip drops neighbours whose items we reject. The delays keep such claims rare.
   */
  onClaim(data: Uint8Array): Verdict {
    const verdict = this.judge(data);
    const key = verdict.valid ? 'valid' : verdict.code;
    this.stats.set(key, (this.stats.get(key) ?? 0) + 1);
    return verdict;
  }

  private judge(data: Uint8Array): Verdict {
    const { params } = this.deps;
    try {
      const { claim, signedLength } = decodeClaim(data);
      checkRound(claim, params, this.now());
      // Our own claim echoed back by Gossip: it is genuine, let it spread.
      if (equal(this.sent.get(claim.roundStart), data)) return { valid: true };
      authenticate(claim, data, signedLength, params);
      // A closed round's board is gone: a late claim is genuine (valid) but counts no more.
      const open =
        claim.roundStart >= roundStart(this.now(), params.roundMs) || this.boards.has(claim.roundStart);
      const board = open ? this.boardFor(claim.roundStart) : undefined;
      if (board?.accept(claim.proximities)) {
        this.deps.log.debug(
          `round ${claim.roundStart}: best [${board.best}] from ${toHex(claim.identity).slice(0, 8)}`,
        );
      }
      return { valid: true };
    } catch (e) {
      if (!(e instanceof ClaimError)) throw e;
      this.refusals.note(e, this.deps.log, this.now());
      return { valid: false, code: e.code };
    }
  }

  private current(): RoundBoard | undefined {
    return this.boards.get(roundStart(this.now(), this.deps.params.roundMs));
  }

  /** The board of a round, opened on first use (a claim may arrive just before our own timer fires). */
  private boardFor(start: number): RoundBoard {
    let board = this.boards.get(start);
    if (!board) {
      const own = proximities(this.deps.self.identity, roundKeys(start, this.deps.params));
      const up = this.deps.gossipUpSince();
      // A round is complete only if we listened to Gossip from its start on (a late joiner missed floods).
      const complete = this.startedAt <= start && up !== undefined && up <= start;
      board = new RoundBoard(start, own, complete);
      this.boards.set(start, board);
    }
    return board;
  }

  private openRound(start: number): void {
    if (this.stopped) return;
    const { roundMs, skewMs, sendWindow } = this.deps.params;
    const board = this.boardFor(start);
    // Schedule against the larger of the estimate and the last round's best: after a stall or at a
    // cold start the estimate is too low, which would make everyone send at once and keep us stalled.
    const expected = Math.max(expectedBest(this.estimate().estimate), this.lastClosed?.meanBest() ?? 0);
    const slots = [...board.own]
      .map((p, k) => ({ k, at: start + sendDelay(p, expected, roundMs * sendWindow) }))
      .sort((a, b) => a.at - b.at);
    this.sendAtSlot(board, slots, 0);
    this.at(start + roundMs, () => this.openRound(start + roundMs));
    this.at(start + roundMs + skewMs, () => this.closeRound(start));
  }

  /** At each key's slot: flood our claim if we still beat every claim seen for that key. */
  private sendAtSlot(board: RoundBoard, slots: { k: number; at: number }[], i: number): void {
    const slot = slots[i];
    if (!slot || board.announced) return;
    this.at(slot.at, () => {
      // A slot that fires late means our event loop stalled and claims may be waiting unread: sending now
      // would add to a storm of claims that are probably beaten already (and prolong the stall).
      const lateMs = this.now() - slot.at;
      if (lateMs > (this.deps.params.roundMs * this.deps.params.sendWindow) / 8) {
        board.announced = true;
        this.deps.log.debug(`round ${board.start}: slot ${Math.round(lateMs)} ms late, claim not sent`);
      } else if (board.ownBeats(slot.k)) this.announce(board);
      else this.sendAtSlot(board, slots, i + 1);
    });
  }

  private announce(board: RoundBoard): void {
    const { self, params } = this.deps;
    if (!this.pow) return; // no proof of work yet: nobody would accept the claim
    board.announced = true;
    const data = encodeClaim(
      {
        version: CLAIM_VERSION,
        roundMs: params.roundMs,
        roundStart: board.start,
        proximities: board.own,
        identity: self.identity,
        powNonce: this.pow,
        hostkey: self.spkiDer,
      },
      (d) => self.sign(d),
    );
    this.sent.set(board.start, data);
    if (!this.deps.announce(data)) {
      this.sent.delete(board.start);
      this.deps.log.debug(`round ${board.start}: gossip down, claim not sent`);
    }
  }

  private closeRound(start: number): void {
    const { roundMs, skewMs } = this.deps.params;
    const board = this.boards.get(start);
    this.boards.delete(start);
    // Boards opened by claims for rounds we never reached (clock skew) must not pile up.
    for (const s of this.boards.keys()) if (s < start) this.boards.delete(s);
    if (!board) {
      this.sent.delete(start);
      return;
    }
    this.lastClosed = board;
    const up = this.deps.gossipUpSince();
    const announced = this.sent.delete(start);
    // Closing late means our event loop stalled: claims that arrived meanwhile were judged stale.
    const late = this.now() - (start + roundMs + skewMs) > Math.max(skewMs, 20);
    // A round in which we heard nobody and said nothing carries no information (and after a stall it
    // would read as a network of one): only rounds with at least one claim on the wire count.
    const heard = board.accepted > 0 || announced;
    if (board.complete && !late && heard && up !== undefined && up <= start) {
      this.history.push(start, board.meanBest());
      const e = this.history.estimate()!;
      this.deps.log.debug(
        `round ${start} closed: best [${board.best}], estimate ${e.estimate} ± ${e.deviation}`,
      );
    } else {
      this.partial = board;
      this.deps.log.debug(
        `round ${start} closed incomplete (${late ? 'late' : 'joined late or gossip down'})`,
      );
    }
  }

  private at(time: number, fn: () => void): void {
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        if (!this.stopped) fn();
      },
      Math.max(0, time - this.now()),
    );
    this.timers.add(t);
  }
}

function equal(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Refusals are logged at most once a second per reason (forgers must not flood the log). */
class RefusalLog {
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
