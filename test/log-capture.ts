// A Logger that keeps its info lines (and warn and error lines too, if asked), and a wait for the
// next one (tests of periodic log lines, of logged reasons).
import type { Logger } from '../relay/log.ts';

export function logCapture(allLevels = false) {
  const lines: string[] = [];
  let waiter: (() => void) | undefined;
  const info = (m: string) => {
    lines.push(m);
    waiter?.();
  };
  const other = allLevels ? info : () => {};
  const log: Logger = { info, debug: () => {}, warn: other, error: other, child: () => log } as Logger;
  /** Resolves with the next info line; rejects after timeoutMs. */
  const next = (timeoutMs = 2000) =>
    new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no log line within ${timeoutMs} ms`)), timeoutMs);
      waiter = () => {
        clearTimeout(t);
        waiter = undefined;
        resolve(lines[lines.length - 1]!);
      };
    });
  return { log, lines, next };
}
