// Brahms (Bortnikov et al., 2009) without networking: the view V of l1 identities renewed each
// round from α·l1 pushes, β·l1 pulls and γ·l1 history samples, and l2 min-wise samplers fed with
// every identity of the push/pull stream. Limited pushes: a round that received more pushes than
// α·l1 (more than the network can send honestly) leaves the view unchanged, so a flood of pushes
// cannot take the view over. The service (service.ts) does the I/O around this.
import { randomInt } from 'node:crypto';
import type { PeerTable } from './peers.ts';
import { refill, type Sampler, SamplerSet } from './sampler.ts';

export interface BrahmsParams {
  /** Share of the view renewed from pushes (α), pulls (β) and samplers (γ = 1 - α - β). */
  alpha: number;
  beta: number;
}

export interface RoundResult {
  /** Whether V was replaced this round. */
  updated: boolean;
  reason: 'ok' | 'push-flood' | 'no-push' | 'no-pull';
  pushes: number;
  pulls: number;
}

/** k distinct elements picked uniformly (crypto randomness: attackers must not predict choices). */
export function pick<T>(items: readonly T[], k: number): T[] {
  const a = [...items];
  const n = Math.min(k, a.length);
  for (let i = 0; i < n; i++) {
    const j = i + randomInt(a.length - i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n);
}

export class Brahms {
  view: string[] = [];
  readonly samplers: SamplerSet;
  private pushes = new Set<string>();
  private pulls = new Set<string>();
  viewSize: number;

  constructor(
    readonly peers: PeerTable,
    viewSize: number,
    samplerCount: number,
    private readonly params: BrahmsParams,
  ) {
    this.viewSize = viewSize;
    this.samplers = new SamplerSet(samplerCount);
  }

  get pushLimit(): number {
    return Math.max(1, Math.round(this.params.alpha * this.viewSize));
  }

  get pullCount(): number {
    return Math.max(1, Math.round(this.params.beta * this.viewSize));
  }

  /** NSE's estimate changed: new l1 and l2. */
  resize(viewSize: number, samplerCount: number): void {
    this.viewSize = viewSize;
    if (this.view.length > viewSize) this.view = pick(this.view, viewSize);
    this.samplers.resize(samplerCount, this.peers.ids());
  }

  /** An authenticated push (the pusher's own identity). Counted once per pusher per round. */
  receivePush(id: string): void {
    // Keep counting past the limit so a flood is recognised, but bound the set's memory.
    if (this.pushes.size <= this.pushLimit * 4 || this.pushes.has(id)) this.pushes.add(id);
    else this.pushes.add(`flood:${this.pushes.size}`);
  }

  /** Identities from one pull reply (already verified and present in the peer table). */
  receivePull(ids: Iterable<string>): void {
    for (const id of ids) {
      if (this.pulls.size >= this.viewSize * 8) break;
      this.pulls.add(id);
    }
  }

  /** A newly learnt identity outside push/pull (Gossip announcement, store): history only. */
  learn(id: string): void {
    this.samplers.feed(id);
  }

  /** End of a round: maybe renew V, feed the samplers, fill a short view from the history. */
  endRound(): RoundResult {
    const push = [...this.pushes].filter((id) => this.peers.has(id));
    const pull = [...this.pulls].filter((id) => this.peers.has(id));
    const result: RoundResult = {
      updated: false,
      reason: 'ok',
      pushes: this.pushes.size,
      pulls: pull.length,
    };
    if (this.pushes.size > this.pushLimit) result.reason = 'push-flood';
    else if (push.length === 0) result.reason = 'no-push';
    else if (pull.length === 0) result.reason = 'no-pull';
    else {
      const fromHistory = Math.max(0, this.viewSize - this.pushLimit - this.pullCount);
      const next = new Set([
        ...pick(push, this.pushLimit),
        ...pick(pull, this.pullCount),
        ...pick(this.samplers.samples(), fromHistory),
      ]);
      this.view = [...next];
      result.updated = true;
    }
    for (const id of push) this.samplers.feed(id);
    for (const id of pull) this.samplers.feed(id);
    this.pushes = new Set();
    this.pulls = new Set();
    this.topUp();
    return result;
  }

  /** While V is short (start-up, after deaths), fill it from the history. */
  topUp(): void {
    this.view = this.view.filter((id) => this.peers.has(id));
    if (this.view.length >= this.viewSize) return;
    const inView = new Set(this.view);
    const candidates = [...this.peers.ids()].filter((id) => !inView.has(id));
    this.view.push(...pick(candidates, this.viewSize - this.view.length));
  }

  pushTargets(): string[] {
    return pick(this.view, this.pushLimit);
  }

  pullTargets(): string[] {
    return pick(this.view, this.pullCount);
  }

  /** A peer failed its probe: out of the view, and every sampler holding it starts afresh. */
  remove(id: string): void {
    this.view = this.view.filter((x) => x !== id);
    this.samplers.evict(id, this.peers.ids());
  }

  /**
   * Samplers whose sample is a known peer, optionally only those probed alive since `aliveSince`.
   * The API answers from one of them at random.
   */
  candidates(aliveSince?: number): Sampler[] {
    return this.samplers.samplers.filter((s) => {
      if (s.sample === null) return false;
      const e = this.peers.get(s.sample);
      return e !== undefined && (aliveSince === undefined || e.lastAlive >= aliveSince);
    });
  }

  /**
   * A sample was handed out: that sampler restarts with a fresh key over the whole history, so the
   * next answer is independent of this one (otherwise l2 samplers could only ever name l2 peers).
   */
  consume(s: Sampler): void {
    refill(s, this.peers.ids());
  }
}
