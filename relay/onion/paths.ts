// Choosing hops: the first from this relay's entry guards (guards.ts), the others random distinct
// peers from RPS, never this relay, the destination or a hop path bias avoids. A failed build starts
// over with a fresh path (never a re-draw for the failed position). Also the build loop shared by
// tunnels and cover tunnels.
import type { Logger } from '../log.ts';
import type { Families } from './family.ts';
import type { Guards, PathBias } from './guards.ts';
import { buildCircuit, HopFailure, type HopPeer, type OriginCircuit, type OriginContext } from './origin.ts';
import type { PeerSource } from './rps.ts';

export interface PathContext {
  origin: OriginContext;
  peers: PeerSource;
  selfId: string;
  hops: number;
  log: Logger;
  /** Entry guards (absent: a random first hop, as before). */
  guards?: Guards;
  bias?: PathBias;
  /** Families and subnets a path must not repeat (family.ts). */
  families?: Families;
}

/** May `p` join a path already holding `chosen` (hops so far and the destination)? */
function fits(ctx: PathContext, p: HopPeer, chosen: HopPeer[]): boolean {
  return (
    p.idHex !== ctx.selfId &&
    !chosen.some((c) => c.idHex === p.idHex) &&
    !ctx.bias?.avoided(p.idHex) &&
    (ctx.families?.fits(p, chosen) ?? true)
  );
}

/**
 * RPS draws per hop before a path is given up (and the build waits 200 ms). On a small network most
 * draws are unusable (us, the destination, a hop already chosen): with 4 relays 3 in 4 are, and 8
 * draws missed in 1 build of 10, which waited 200 ms for it (the bench's build p95). Draws come from
 * the prefetched pool or cost one local API round trip.
 */
export const DRAWS_PER_HOP = 24;

/** Draw one peer from RPS that is not in `exclude` nor avoided and fits `chosen` (a few queries at most). */
export async function drawPeer(
  ctx: PathContext,
  exclude: Set<string>,
  chosen: HopPeer[] = [],
): Promise<HopPeer | undefined> {
  for (let i = 0; i < DRAWS_PER_HOP; i++) {
    const p = await ctx.peers.randomPeer();
    if (p && !exclude.has(p.idHex) && fits(ctx, p, chosen)) return p;
  }
  return undefined;
}

/** Intermediate hops for a circuit to `dest`: the first a guard, the rest random; all fit together. */
export async function choosePath(ctx: PathContext, dest: HopPeer): Promise<HopPeer[]> {
  const path: HopPeer[] = [];
  const chosen = () => [dest, ...path];
  const used = new Set([dest.idHex]);
  const first = ctx.guards
    ? await ctx.guards.pick(
        (ex) => drawPeer(ctx, ex),
        used,
        (g) => fits(ctx, g, [dest]),
      )
    : await drawPeer(ctx, used, [dest]);
  if (!first) return path;
  path.push(first);
  used.add(first.idHex);
  while (path.length < ctx.hops) {
    const p = await drawPeer(ctx, used, chosen());
    if (!p) break;
    used.add(p.idHex);
    path.push(p);
  }
  return path;
}

/** Intro sent on a freshly built circuit (OPEN or RESUME); resolves true if the destination agreed. */
export type Intro = (circ: OriginCircuit) => Promise<boolean>;

export class RefusedError extends Error {}

/**
 * Build a circuit through `ctx.hops` random hops to `dest` and run `intro` on it, retrying with fresh
 * hops until `deadline` (ms since epoch) or until `abandoned()` (the tunnel or its API client is gone).
 * Throws when the deadline passes, the build is abandoned or the destination refuses.
 */
export async function buildTo(
  ctx: PathContext,
  dest: HopPeer,
  deadline: number,
  intro: Intro,
  abandoned: () => boolean = () => false,
): Promise<OriginCircuit> {
  let lastError = 'no attempt';
  while (Date.now() < deadline) {
    if (abandoned()) throw new Error('build abandoned');
    const path = await choosePath(ctx, dest);
    if (path.length < ctx.hops) {
      lastError = `RPS gave ${path.length} of ${ctx.hops} usable hops`;
      await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, deadline - Date.now()))));
      continue;
    }
    const onExtend = (h: HopPeer, ok: boolean) => ctx.bias?.record(h.idHex, ok);
    let circ: OriginCircuit | undefined;
    try {
      circ = await untilDeadline(buildCircuit(ctx.origin, [...path, dest], { onExtend }), deadline);
      ctx.guards?.markUp(path[0]!.idHex);
      const ok = await intro(circ);
      // A DESTROY handled in the same input batch as the answer closes the circuit before we get here.
      if (circ.closed) throw new Error('circuit closed as it was built');
      if (ok) return circ;
      circ.close('destination refused');
      throw new RefusedError('destination refused the tunnel');
    } catch (e) {
      circ?.close('build step failed');
      if (e instanceof RefusedError) throw e;
      // The guard is down: the next attempt takes the next guard (it is replaced only if it stays down).
      if (e instanceof HopFailure && e.index === 0 && e.kind !== 'extend')
        ctx.guards?.markDown(path[0]!.idHex);
      lastError = (e as Error).message;
      ctx.log.debug(`build to ${dest.host}:${dest.port} failed: ${lastError}`);
    }
  }
  throw new Error(`tunnel build timed out (${lastError})`);
}

/** Like withTimeout, but a circuit that arrives late is closed rather than leaked. */
function untilDeadline(p: Promise<OriginCircuit>, deadline: number): Promise<OriginCircuit> {
  return new Promise((resolve, reject) => {
    let late = false;
    const t = setTimeout(
      () => {
        late = true;
        reject(new Error('deadline passed'));
      },
      Math.max(0, deadline - Date.now()),
    );
    p.then(
      (c) => {
        clearTimeout(t);
        if (late) c.close('built too late');
        else resolve(c);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
