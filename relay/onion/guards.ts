// Entry guards and path-bias accounting (issue 15 point 3), after Tor's. A fresh random first hop
// every round gave every malicious relay its turn next to us over a long call; a guard is kept for
// `guard_lifetime_days` and left only while it is down (its link or CREATE failed), and replaced
// once it has been down for `guard_down_ms`. The list survives restarts in a small JSON file,
// written atomically (temp file + rename). Path bias: a hop that answers EXTEND_FAILED is no longer
// replaced by a fresh draw for the same position (it could fail until the draw was a colluder);
// the build starts over with a fresh path, and each hop's EXTEND attempts and failures are counted:
// one that fails far more than the others is avoided and logged.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../log.ts';
import type { HopPeer } from './origin.ts';

interface GuardEntry {
  idHex: string;
  host: string;
  port: number;
  /** SPKI DER, base64. */
  der: string;
  addedAt: number;
  /** First failure of a run of failures with no success since (ms since epoch). */
  downSince?: number;
  /** Last failed attempt: a down guard is tried again after `retryMs`. */
  failedAt?: number;
}

export interface GuardOptions {
  /** State file (undefined: in memory only). */
  file: string | undefined;
  count: number;
  lifetimeMs: number;
  /** A guard down (every attempt failing) for this long is replaced. */
  downMs: number;
  /** A down guard is tried again after this long. */
  retryMs: number;
  log: Logger;
}

const MAX_GUARDS = 16;

export class Guards {
  private list: GuardEntry[] = [];
  /** Guards dropped for being down or biased: not drawn again soon (bounded, oldest forgotten). */
  private readonly dropped = new Set<string>();

  constructor(private readonly o: GuardOptions) {
    this.load();
  }

  private load(): void {
    if (!this.o.file) return;
    try {
      const j = JSON.parse(readFileSync(this.o.file, 'utf8')) as { guards?: unknown };
      if (!Array.isArray(j.guards)) return;
      this.list = j.guards
        .filter(
          (g): g is GuardEntry =>
            typeof g?.idHex === 'string' &&
            /^[0-9a-f]{64}$/.test(g.idHex) &&
            typeof g.host === 'string' &&
            Number.isInteger(g.port) &&
            typeof g.der === 'string' &&
            typeof g.addedAt === 'number',
        )
        .slice(0, MAX_GUARDS);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.o.log.warn(`onion guards: ignoring unreadable ${this.o.file}: ${(e as Error).message}`);
    }
  }

  private save(): void {
    if (!this.o.file) return;
    const tmp = `${this.o.file}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      mkdirSync(dirname(this.o.file), { recursive: true });
      writeFileSync(tmp, `${JSON.stringify({ version: 1, guards: this.list }, null, 1)}\n`, { mode: 0o600 });
      renameSync(tmp, this.o.file); // atomic: a crash leaves the old or the new list, never half
    } catch (e) {
      this.o.log.warn(`onion guards: cannot write ${this.o.file}: ${(e as Error).message}`);
    }
  }

  /** Identities of the current guards, in order of preference. */
  ids(): string[] {
    return this.list.map((g) => g.idHex);
  }

  /**
   * The first hop for a path: the first guard that is not excluded (the destination, avoided hops)
   * and not down, or down but due for a retry. New guards are drawn with `draw` to keep `count`.
   */
  async pick(
    draw: (exclude: Set<string>) => Promise<HopPeer | undefined>,
    exclude: Set<string>,
    fits: (g: HopPeer) => boolean = () => true,
  ): Promise<HopPeer | undefined> {
    const now = Date.now();
    const before = this.list.length;
    this.list = this.list.filter((g) => {
      const downForGood = g.downSince !== undefined && now - g.downSince >= this.o.downMs;
      if (downForGood) this.forget(g.idHex); // not drawn again at once (a test drew it 1 in 9)
      return now - g.addedAt < this.o.lifetimeMs && !downForGood;
    });
    let changed = this.list.length !== before;
    if (changed)
      this.o.log.info(`onion guards: ${before - this.list.length} expired or down for good, replaced`);
    // Keep `count` usable guards: up, and able to share this path (down ones are kept until
    // replaced, but do not count; neither does one that cannot share the path, or a build would
    // find no first hop at all until some down guard's retry came due — a soak saw 4 minutes).
    for (
      let tries = 0;
      this.usable(now, exclude, fits) < this.o.count && this.list.length < MAX_GUARDS && tries < 8;
      tries++
    ) {
      const p = await draw(new Set([...exclude, ...this.ids(), ...this.dropped]));
      if (!p) break;
      this.list.push({
        idHex: p.idHex,
        host: p.host,
        port: p.port,
        der: Buffer.from(p.der).toString('base64'),
        addedAt: now,
      });
      changed = true;
    }
    if (changed) this.save();
    // A guard that cannot share this path (the destination's family or /16) sits this one out.
    const fitting = this.list.filter((g) => !exclude.has(g.idHex) && fits(toPeer(g)));
    // Every fitting guard down and none could be drawn (a small network under churn): try the one
    // that failed longest ago now rather than wait for its retry, as Tor does when all its
    // primary guards are down.
    return toPeerOrUndefined(
      fitting.find((g) => this.up(g, now)) ??
        fitting.sort((a, b) => (a.failedAt ?? 0) - (b.failedAt ?? 0))[0],
    );
  }

  private up(g: GuardEntry, now: number): boolean {
    return g.downSince === undefined || now - (g.failedAt ?? 0) >= this.o.retryMs;
  }

  private usable(now: number, exclude: Set<string>, fits: (g: HopPeer) => boolean): number {
    return this.list.filter((g) => !exclude.has(g.idHex) && this.up(g, now) && fits(toPeer(g))).length;
  }

  /** The guard's link and CREATE worked. */
  markUp(idHex: string): void {
    const g = this.list.find((x) => x.idHex === idHex);
    if (!g || g.downSince === undefined) return;
    g.downSince = g.failedAt = undefined;
    this.save();
  }

  /** The guard could not be reached (link or CREATE failed). */
  markDown(idHex: string): void {
    const g = this.list.find((x) => x.idHex === idHex);
    if (!g) return;
    const now = Date.now();
    g.downSince ??= now;
    g.failedAt = now;
    this.o.log.debug(`onion guards: guard ${idHex.slice(0, 8)} unreachable`);
    this.save();
  }

  private forget(idHex: string): void {
    this.dropped.add(idHex);
    if (this.dropped.size > 64) this.dropped.delete(this.dropped.values().next().value!);
  }

  /** Drop a guard for good (path bias: it fails EXTENDs far more than other hops). */
  remove(idHex: string): void {
    this.forget(idHex);
    const n = this.list.length;
    this.list = this.list.filter((g) => g.idHex !== idHex);
    if (this.list.length !== n) this.save();
  }
}

function toPeerOrUndefined(g: GuardEntry | undefined): HopPeer | undefined {
  return g && toPeer(g);
}

function toPeer(g: GuardEntry): HopPeer {
  const der = new Uint8Array(Buffer.from(g.der, 'base64'));
  return {
    host: g.host,
    port: g.port,
    der,
    identity: new Uint8Array(Buffer.from(g.idHex, 'hex')),
    idHex: g.idHex,
  };
}

/**
 * Minimum EXTEND attempts through a hop before its failure rate is judged: 5 judged honest hops
 * on a loaded box or under churn (EXTENDs to a relay that just died fail at the hop asked to
 * extend), leaving small networks with no path.
 */
const MIN_ATTEMPTS = 10;
/**
 * An avoided hop is forgiven after this long, its counts reset: a steering hop is caught again
 * within MIN_ATTEMPTS builds, an honest one judged in a bad minute is not lost for good.
 */
const AVOID_MS = 15 * 60_000;
/** Judged hop's failure rate must be at least this, and this many times the others'. */
const MIN_RATE = 0.5;
const RATIO = 3;
const MAX_TRACKED = 4096;

interface Tally {
  attempts: number;
  failures: number;
  /** When the hop was judged (undefined: not avoided). */
  avoidedAt?: number;
}

/** EXTEND attempts and failures per hop (the hop asked to extend, which answered EXTEND_FAILED). */
export class PathBias {
  private readonly t = new Map<string, Tally>();
  private attempts = 0;
  private failures = 0;

  constructor(
    private readonly log: Logger,
    private readonly onAvoid: (idHex: string) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  record(idHex: string, ok: boolean): void {
    let e = this.t.get(idHex);
    if (!e) {
      if (this.t.size >= MAX_TRACKED) {
        const [oldest, o] = this.t.entries().next().value as [string, Tally];
        this.t.delete(oldest);
        this.attempts -= o.attempts;
        this.failures -= o.failures;
      }
      e = { attempts: 0, failures: 0 };
      this.t.set(idHex, e);
    }
    e.attempts++;
    this.attempts++;
    if (!ok) {
      e.failures++;
      this.failures++;
    }
    if (e.avoidedAt === undefined && this.judge(e)) {
      e.avoidedAt = this.now();
      this.log.warn(
        `onion path bias: hop ${idHex.slice(0, 16)} failed ${e.failures} of ${e.attempts} EXTENDs ` +
          `(others ${this.failures - e.failures} of ${this.attempts - e.attempts}): avoided from now on`,
      );
      this.onAvoid(idHex);
    }
  }

  private judge(e: Tally): boolean {
    if (e.attempts < MIN_ATTEMPTS) return false;
    const rate = e.failures / e.attempts;
    const others = this.attempts - e.attempts;
    const otherRate = others > 0 ? (this.failures - e.failures) / others : 0;
    return rate >= MIN_RATE && rate > RATIO * otherRate;
  }

  avoided(idHex: string): boolean {
    const e = this.t.get(idHex);
    if (e?.avoidedAt === undefined) return false;
    if (this.now() - e.avoidedAt < AVOID_MS) return true;
    this.t.delete(idHex); // forgiven: judged afresh from now on
    this.attempts -= e.attempts;
    this.failures -= e.failures;
    return false;
  }

  avoidedIds(): string[] {
    return [...this.t.keys()].filter((id) => this.avoided(id));
  }
}
