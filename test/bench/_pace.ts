// The echo benchmarks' sender: n streams of one frame every 20 ms each, at random phases (like
// independent calls), from a 1 ms loop; the first `warmupMs` are sent but not measured.
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Paced {
  /** Frames sent in the measured part. */
  sent: number;
  /** performance.now() when the measured part began. */
  start: number;
}

/**
 * Calls send(stream, seq, measured) for every due frame for warmupMs + ms, and onMeasure once when
 * the measured part begins; then waits 1 s for frames in flight.
 */
export async function pace(
  n: number,
  ms: number,
  warmupMs: number,
  send: (stream: number, seq: number, measured: boolean) => void,
  onMeasure: () => void,
): Promise<Paced> {
  const phase = Array.from({ length: n }, () => Math.random() * 20);
  const nextSeq = new Array<number>(n).fill(0);
  let sent = 0;
  const begin = performance.now();
  let start = Number.POSITIVE_INFINITY;
  for (;;) {
    const now = performance.now() - begin;
    if (now >= warmupMs + ms) break;
    const measured = now >= warmupMs;
    if (measured && start === Number.POSITIVE_INFINITY) {
      start = performance.now();
      onMeasure();
    }
    for (let i = 0; i < n; i++) {
      while (phase[i]! + nextSeq[i]! * 20 <= now) {
        send(i, nextSeq[i]!++, measured);
        if (measured) sent++;
      }
    }
    await sleep(1);
  }
  await sleep(1000);
  return { sent, start };
}
