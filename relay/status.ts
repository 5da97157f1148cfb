// Operators' status lines: each module logs one info line every `status_seconds` of its section
// (default 60, 0: never) with what it holds and what it did since the last line. Counts only.
import type { Logger } from './log.ts';

/** Logs line(seconds since the last line) every `seconds`; returns the stop function. */
export function startStatusLog(log: Logger, seconds: number, line: (elapsedS: number) => string): () => void {
  if (seconds <= 0) return () => {};
  let at = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    log.info(line((now - at) / 1000));
    at = now;
  }, seconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/** Differences of counters since the last call. */
export function deltas<K extends string>(read: () => Record<K, number>): () => Record<K, number> {
  let before = { ...read() };
  return () => {
    const now = { ...read() };
    const d = {} as Record<K, number>;
    for (const k of Object.keys(now) as K[]) d[k] = now[k] - (before[k] ?? 0);
    before = now;
    return d;
  };
}
