// Preloaded into every relay of a soak (NODE_OPTIONS=--import): every VOIDPHONE_VITALS_MS the relay
// appends one JSON line of its own vitals to VOIDPHONE_VITALS_DIR/<pid>.jsonl. Dev-only: a deployed
// relay never loads it. The soak reads these lines instead of asking the relay, so a relay that is
// busy or wedged still shows up (as missing or late lines).
import { appendFileSync, readdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

const dir = process.env.VOIDPHONE_VITALS_DIR;
if (dir) {
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const every = Number(process.env.VOIDPHONE_VITALS_MS ?? 10_000);
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    const line = {
      t: Date.now(),
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      young: getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size,
      external: m.external,
      fds: readdirSync('/proc/self/fd').length,
      lagP99Ms: lag.percentile(99) / 1e6,
      lagMaxMs: lag.max / 1e6,
    };
    lag.reset();
    try {
      appendFileSync(`${dir}/${process.pid}.jsonl`, `${JSON.stringify(line)}\n`);
    } catch {
      // the soak's folder is gone: it has stopped, and so will we
    }
  }, every);
  timer.unref();

  // With --expose-gc (the soak sets it): once a minute a full GC, then one more line marked
  // `gc: true`. A leak shows in what survives a GC; the plain samples' floor also moves with when
  // V8 happened to collect, which read +19-23 % where the live heap grew 7-9 %.
  const gcEvery = Number(process.env.VOIDPHONE_VITALS_GC_MS ?? 60_000);
  if (typeof globalThis.gc === 'function' && gcEvery > 0) {
    const gcTimer = setInterval(() => {
      globalThis.gc();
      const m = process.memoryUsage();
      const line = {
        t: Date.now(),
        gc: true,
        rss: m.rss,
        heapUsed: m.heapUsed,
        heapTotal: m.heapTotal,
        external: m.external,
      };
      try {
        appendFileSync(`${dir}/${process.pid}.jsonl`, `${JSON.stringify(line)}\n`);
      } catch {
        // as above
      }
    }, gcEvery);
    gcTimer.unref();
  }
}

// VOIDPHONE_HEAPSNAP_MIN="10,60": write a heap snapshot at those minutes of this process's life, to
// diff by constructor when the soak says memory grew (test/soak/heapdiff.ts).
// VOIDPHONE_HEAPSNAP_DIR keeps them after the soak has removed its folder; the name carries the
// relay's config folder so a snapshot can be matched to its relay.
const snapAt = process.env.VOIDPHONE_HEAPSNAP_MIN;
const snapDir = process.env.VOIDPHONE_HEAPSNAP_DIR ?? dir;
if (snapDir && snapAt) {
  const c = process.argv.indexOf('-c');
  const who = c > 0 ? (process.argv[c + 1] ?? '').replace(/^.*\//, '').replace(/\.ini$/, '') : 'node';
  for (const m of snapAt
    .split(',')
    .map(Number)
    .filter((x) => x > 0)) {
    const file = `${snapDir}/${who}-${process.pid}-min${m}.heapsnapshot`;
    setTimeout(() => writeHeapSnapshot(file), m * 60_000).unref();
  }
}
