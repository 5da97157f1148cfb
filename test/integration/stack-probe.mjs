// Preloaded (NODE_OPTIONS=--import) into a relay by relay-stack-memory.test.ts: records a stack trace
// taken inside the relay's code (the first setTimeout it calls), formats it 3 s later, and writes the
// heap used before and after (each after full GCs) to $STACK_PROBE_OUT. Needs --expose-gc.
import { writeFileSync } from 'node:fs';

const out = process.env.STACK_PROBE_OUT;
if (out) {
  const real = globalThis.setTimeout;
  let taken;
  globalThis.setTimeout = function (...args) {
    if (!taken) {
      taken = {};
      Error.captureStackTrace(taken);
    }
    return real.apply(this, args);
  };
  const heap = () => {
    globalThis.gc();
    globalThis.gc();
    return process.memoryUsage().heapUsed;
  };
  real(() => {
    const before = heap();
    const stack = String(taken?.stack ?? '');
    const after = heap();
    writeFileSync(out, JSON.stringify({ before, after, stack }));
  }, 3000).unref();
}
