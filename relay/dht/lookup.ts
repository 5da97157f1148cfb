// Iterative Kademlia lookup with α requests in flight per path, a timeout per request, an overall
// deadline, and S/Kademlia-style disjoint paths: the k closest known contacts are dealt round-robin
// onto d paths; each path runs its own iterative lookup and no node is queried by two paths, so a
// path that wanders into a region of liars cannot poison the others. A value found on any path
// ends the lookup; for node lookups the answering nodes of all paths are merged.
import type { Contact } from './routing.ts';
import { compareDistance, idEquals } from './xor.ts';

export interface FoundValue {
  value: Uint8Array;
  /** Seconds the value has left to live, as the storer told us. */
  ttl: number;
}

export interface QueryResult {
  nodes: Contact[];
  value?: FoundValue;
}

/** One request to one contact (FIND_NODE, or FIND_VALUE when wantValue). Rejects on any failure. */
export type QueryFn = (c: Contact, target: Uint8Array, wantValue: boolean) => Promise<QueryResult>;

export interface LookupOptions {
  self: Uint8Array;
  target: Uint8Array;
  seeds: Contact[];
  /** Further known contacts (next closest after the seeds): a path whose seeds all failed before it
   * learnt anything takes the next one of these, so a lookup survives dead neighbours under churn. */
  backup?: Contact[];
  query: QueryFn;
  /** Result size: the lookup ends when the `k` closest candidates of each path have answered or failed. */
  k: number;
  alpha: number;
  /** Disjoint paths (1 = plain Kademlia). */
  paths: number;
  wantValue: boolean;
  requestTimeoutMs: number;
  /** Overall bound: the lookup resolves with what it has when this passes. */
  deadlineMs: number;
  /** Cap on requests of the whole lookup. */
  maxQueries?: number;
}

export interface LookupResult {
  value?: FoundValue;
  /** Contact that returned the value. */
  valueFrom?: Contact;
  /** Closest contacts that answered, closest first (at most k). */
  closest: Contact[];
  queries: number;
  failures: number;
  /** Length of the longest referral chain that was queried (seeds are hop 1). */
  hops: number;
  /** Hop at which the value was found. */
  valueHop?: number;
  timedOut: boolean;
}

type State = 'new' | 'asked' | 'ok' | 'failed' | 'taken';
interface Candidate {
  contact: Contact;
  state: State;
  hop: number;
}

const hexOf = (id: Uint8Array) => Buffer.from(id).toString('hex');

class Path {
  readonly list: Candidate[] = [];
  inflight = 0;
  constructor(
    private readonly target: Uint8Array,
    private readonly cap: number,
  ) {}

  add(c: Contact, hop: number): void {
    if (this.list.some((x) => idEquals(x.contact.id, c.id))) return;
    this.list.push({ contact: c, state: 'new', hop });
    this.list.sort((a, b) => compareDistance(this.target, a.contact.id, b.contact.id));
    // Bounded: a liar flooding referrals only pushes out the farthest candidates it sent.
    if (this.list.length > this.cap) this.list.length = this.cap;
  }

  /** The closest unasked candidate among the k closest viable ones (skipping those other paths took). */
  next(k: number, takenElsewhere: (c: Contact) => boolean): Candidate | undefined {
    let seen = 0;
    for (const c of this.list) {
      if (c.state === 'new' && takenElsewhere(c.contact)) c.state = 'taken';
      if (c.state === 'failed' || c.state === 'taken') continue;
      if (seen++ >= k) return undefined;
      if (c.state === 'new') return c;
    }
    return undefined;
  }
}

export function lookup(opts: LookupOptions): Promise<LookupResult> {
  const maxQueries = opts.maxQueries ?? opts.k * opts.paths * 8;
  const paths = Array.from({ length: Math.max(1, opts.paths) }, () => new Path(opts.target, opts.k * 4));
  // Node -> the path that queried it: each node is asked by one path only (disjointness).
  const claimed = new Map<string, Path>();
  const res: LookupResult = { closest: [], queries: 0, failures: 0, hops: 0, timedOut: false };
  let done = false;

  return new Promise((resolve) => {
    const finish = (timedOut: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      res.timedOut = timedOut;
      const answered = paths.flatMap((p) => p.list.filter((c) => c.state === 'ok').map((c) => c.contact));
      answered.sort((a, b) => compareDistance(opts.target, a.id, b.id));
      res.closest = answered.slice(0, opts.k);
      resolve(res);
    };
    const deadline = setTimeout(() => finish(true), opts.deadlineMs);

    const offer = (path: Path, c: Contact, hop: number) => {
      const owner = claimed.get(hexOf(c.id));
      if (owner && owner !== path) return; // already asked by another path
      path.add(c, hop);
    };
    opts.seeds.forEach((c, i) => {
      offer(paths[i % paths.length]!, c, 1);
    });

    const backup = [...(opts.backup ?? [])];
    const pump = () => {
      if (done) return;
      for (const p of paths) {
        while (p.inflight < opts.alpha && res.queries < maxQueries) {
          const takenElsewhere = (c: Contact) => {
            const owner = claimed.get(hexOf(c.id));
            return owner !== undefined && owner !== p;
          };
          let cand = p.next(opts.k, takenElsewhere);
          while (!cand && p.inflight === 0 && backup.length > 0 && !p.list.some((c) => c.state === 'ok')) {
            offer(p, backup.shift()!, 1);
            cand = p.next(opts.k, takenElsewhere);
          }
          if (!cand) break;
          ask(p, cand);
        }
      }
      if (paths.every((p) => p.inflight === 0)) finish(false);
    };

    const ask = (p: Path, cand: Candidate) => {
      cand.state = 'asked';
      claimed.set(hexOf(cand.contact.id), p);
      p.inflight++;
      res.queries++;
      withTimeout(opts.query(cand.contact, opts.target, opts.wantValue), opts.requestTimeoutMs).then(
        (r) => {
          p.inflight--;
          if (done) return;
          cand.state = 'ok';
          res.hops = Math.max(res.hops, cand.hop);
          if (r.value && opts.wantValue) {
            res.value = r.value;
            res.valueFrom = cand.contact;
            res.valueHop = cand.hop;
            finish(false);
            return;
          }
          for (const n of r.nodes.slice(0, opts.k)) {
            if (!idEquals(n.id, opts.self)) offer(p, n, cand.hop + 1);
          }
          pump();
        },
        () => {
          p.inflight--;
          cand.state = 'failed';
          res.failures++;
          pump();
        },
      );
    };
    pump();
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`request timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
