// Preloaded into every relay of a soak (NODE_OPTIONS=--import): every VOIDPHONE_VITALS_MS the relay
// appends one JSON line of its own vitals to VOIDPHONE_VITALS_DIR/<pid>.jsonl. Dev-only: a deployed
// relay never loads it. The soak reads these lines instead of asking the relay, so a relay that is
// busy or wedged still shows up (as missing or late lines).
import { appendFileSync, readdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

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
}
