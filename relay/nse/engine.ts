// The NSE algorithm on a wall clock: opens a board per round, floods our claim at the moment its
// quality deserves (only while no better claim has been seen), judges incoming claims for Gossip's
// VALIDATION, and closes each round into the history. Talks to Gossip only through `announce`.
import { toHex } from '../../shared/identity.ts';
import type { Logger } from '../log.ts';
import {
  assembleClaim,
  CLAIM_VERSION,
  ClaimError,
  type ClaimErrorCode,
  decodeClaim,
  encodeUnsigned,
  signedBytes,
} from './claim.ts';
import { type Estimate, History, provisionalEstimate, RoundBoard } from './estimator.ts';
import { expectedBest, proximities, roundKeys, roundStart, sendDelay } from './round.ts';
import { RefusalLog } from './refusals.ts';
import { loopStalls, type StallWatch } from './stalls.ts';
import { authenticate, checkRound, KeyCache, type VerifyParams } from './verify.ts';

export interface NseParams extends VerifyParams {
  readonly historyRounds: number;
  /** Fraction of the round in which claims are sent; the rest lets the last floods finish. */
  readonly sendWindow: number;
}

export interface Self {
  readonly identity: Uint8Array;
  readonly spkiDer: Uint8Array;
  /** Sign off the event loop (an RSA-4096 signature costs milliseconds: a stall for all on it). */
  sign(data: Uint8Array): Promise<Uint8Array>;
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
  /** Event-loop stalls of this process (default: the process-wide watch). */
  stalls?: StallWatch;
}

/** When to look at key k's claim; a slot a stall delayed is replayed once. */
interface Slot {
  k: number;
  at: number;
  replayed?: boolean;
}

export type Verdict = { valid: true } | { valid: false; code: ClaimErrorCode };

export class NseEngine {
  readonly history: History;
  /** Incoming claims by verdict ('valid' or a ClaimErrorCode), for logs and tests. */
  readonly stats = new Map<string, number>();
  /** Our own claims sent, by round start (open rounds). */
  readonly sent = new Map<number, Uint8Array>();
  /** Our own claims sent since start. */
  claimsSent = 0;
  private readonly boards = new Map<number, RoundBoard>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly now: () => number;
  private readonly stalls: StallWatch;
  private readonly startedAt: number;
  private pow: Uint8Array | undefined;
  /** The last round that could not enter the history; better than nothing before the first one. */
  private partial: RoundBoard | undefined;
  /** The last round closed, complete or not. */
  private lastClosed: RoundBoard | undefined;
  private readonly refusals = new RefusalLog();
  private readonly keyCache = new KeyCache();
  /** Our claim per open round, signed on first need. */
  private readonly signing = new Map<number, Promise<Uint8Array>>();
  /** Whether we have heard another peer's claim since start: we are not alone (or cut off). */
  private heardOthers = false;
  private watching = false;
  private stopped = false;

  constructor(private readonly deps: EngineDeps) {
    this.now = deps.now ?? Date.now;
    this.stalls = deps.stalls ?? loopStalls;
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
    if (!this.watching) this.stalls.acquire();
    this.watching = true;
    this.openRound(roundStart(this.now(), this.deps.params.roundMs));
  }

  stop(): void {
    if (this.watching) this.stalls.release();
    this.watching = false;
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
      authenticate(claim, data, signedLength, params, this.keyCache);
      // A closed round's board is gone: a late claim is genuine (valid) but counts no more.
      const open =
        claim.roundStart >= roundStart(this.now(), params.roundMs) || this.boards.has(claim.roundStart);
      const board = open ? this.boardFor(claim.roundStart) : undefined;
      if (board) {
        board.heard++;
        this.heardOthers = true;
      }
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
    const expected = this.expectedBest();
    const slots = [...board.own]
      .map((p, k) => ({ k, at: start + sendDelay(p, expected, roundMs * sendWindow) }))
      .sort((a, b) => a.at - b.at);
    this.sendAtSlot(board, slots, 0);
    this.at(start + roundMs, () => this.openRound(start + roundMs));
    this.at(start + roundMs + skewMs, () => this.closeRound(start));
  }

  /**
   * The best proximity this round will probably see, which the send slots are centred on. From the
   * history once there is one: a single round's best is off by a factor of ~2 either way, and slots
   * centred too high squeeze every claim into the end of the window (a storm of claims). Before
   * that, the larger of the provisional estimate and the last round's best: at a cold start the
   * provisional estimate is too low, which would make everyone send at once.
   */
  private expectedBest(): number {
    const known = this.history.estimate();
    if (known) return expectedBest(known.estimate);
    return Math.max(expectedBest(this.estimate().estimate), this.lastClosed?.meanBest() ?? 0);
  }

  /** At each key's slot: flood our claim if we still beat every claim seen for that key. */
  private sendAtSlot(board: RoundBoard, slots: Slot[], i: number): void {
    const slot = slots[i];
    if (!slot || board.announced) return;
    this.at(slot.at, () => {
      if (!board.ownBeats(slot.k)) return this.sendAtSlot(board, slots, i + 1);
      const windowMs = this.deps.params.roundMs * this.deps.params.sendWindow;
      const lateMs = this.now() - slot.at;
      if (lateMs > windowMs / 8) return this.lateSlot(board, slots, i, windowMs);
      if (!this.pow) return;
      // Signed on the thread pool: a few ms later, so look again before sending.
      this.claimFor(board).then(
        (data) => {
          if (this.stopped || board.announced || this.boards.get(board.start) !== board) return;
          if (board.ownBeats(slot.k)) this.announce(board, data);
          else this.sendAtSlot(board, slots, i + 1);
        },
        (e) => this.deps.log.error(`signing our claim failed: ${(e as Error).message}`),
      );
    });
  }

  /**
   * A slot we still win fired late: our event loop stalled, and claims may be waiting unread. Sending
   * now, with every other slot the stall held back, would be a storm of claims (which prolongs the
   * stall: seen with 60 relays in one process). Nor may we just keep quiet: the best claims' slots are
   * the ones a stall at the start of the window holds back. So the schedule is replayed from the
   * stall's end, as it was: the slot moves back by the time from the stall's start to it. Every relay
   * the stall held (all of them, in one process) replays the same way, the best claim still goes first
   * and silences the rest. Once only: a slot late again, or beyond the send window, is dropped.
   */
  private lateSlot(board: RoundBoard, slots: Slot[], i: number, windowMs: number): void {
    const slot = slots[i]!;
    const stalledFrom = slot.replayed ? undefined : this.stalls.stallStart(slot.at);
    const replayAt = stalledFrom === undefined ? Infinity : this.now() + (slot.at - stalledFrom);
    if (replayAt > board.start + windowMs) {
      board.announced = true;
      board.dropped = true;
      this.deps.log.debug(`round ${board.start}: slot ${Math.round(this.now() - slot.at)} ms late, dropped`);
      return;
    }
    slots[i] = { k: slot.k, at: replayAt, replayed: true };
    this.sendAtSlot(board, slots, i);
  }

  /** Our claim for the round, signed once, on first need (the caller made sure we have the proof of work). */
  private claimFor(board: RoundBoard): Promise<Uint8Array> {
    let claim = this.signing.get(board.start);
    if (!claim) {
      const { self, params } = this.deps;
      const body = encodeUnsigned({
        version: CLAIM_VERSION,
        roundMs: params.roundMs,
        roundStart: board.start,
        proximities: board.own,
        identity: self.identity,
        powNonce: this.pow!,
        hostkey: self.spkiDer,
      });
      claim = self.sign(signedBytes(body, body.length)).then((sig) => assembleClaim(body, sig));
      this.signing.set(board.start, claim);
    }
    return claim;
  }

  private announce(board: RoundBoard, data: Uint8Array): void {
    board.announced = true;
    this.sent.set(board.start, data);
    if (this.deps.announce(data)) this.claimsSent++;
    else {
      this.sent.delete(board.start);
      this.deps.log.debug(`round ${board.start}: gossip down, claim not sent`);
    }
  }

  private closeRound(start: number): void {
    const { roundMs, skewMs, sendWindow } = this.deps.params;
    const board = this.boards.get(start);
    this.boards.delete(start);
    this.signing.delete(start);
    for (const s of this.signing.keys()) if (s < start) this.signing.delete(s);
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
    // A stall that ate a quarter of the send window may have cost the round its best claims (their
    // slots are replayed after the stall, but not beyond the window), and so may a slot we dropped.
    const windowMs = roundMs * sendWindow;
    const stalled = board.dropped || this.stalls.longestBetween(start, start + windowMs) > windowMs / 4;
    // A round in which we heard nobody else tells nothing of the network (we may not be connected yet,
    // at a cold start; after a stall it would read as a network of one). Unless we sent ours and others
    // have been heard before: then ours was simply the best, and the others kept quiet.
    const heard = board.heard > 0 || (announced && this.heardOthers);
    if (board.complete && !late && !stalled && heard && up !== undefined && up <= start) {
      this.history.push(start, board.meanBest());
      const e = this.history.estimate()!;
      this.deps.log.debug(
        `round ${start} closed: best [${board.best}], estimate ${e.estimate} ± ${e.deviation}`,
      );
    } else {
      this.partial = board;
      this.deps.log.debug(
        `round ${start} closed incomplete (${late ? 'late' : stalled ? 'stalled' : heard ? 'joined late or gossip down' : 'heard nobody'})`,
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
