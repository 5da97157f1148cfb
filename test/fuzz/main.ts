// npm run fuzz [-- --inputs N] [--only name,name] [--seed S] [--list]
// Feeds N (default 10^6) random and mutated inputs to every decoder that takes bytes from the
// network or the browser (test/fuzz/targets.ts) and prints, per decoder: inputs, rejected (the
// documented error), crashes, hangs (> 50 ms), slowest input, time, heap before/after (after GC).
// Exit status 1 if any crash or hang. Not part of npm test (test/unit/fuzz-short.test.ts is).
import { parseArgs } from 'node:util';
import { fuzzTarget, HANG_MS } from './engine.ts';
import { buildTargets } from './targets.ts';

const { values } = parseArgs({
  options: {
    inputs: { type: 'string', default: '1000000' },
    only: { type: 'string' },
    seed: { type: 'string', default: '1' },
    list: { type: 'boolean' },
  },
});
const inputs = Number(values.inputs);
const seed = Number(values.seed);
const targets = await buildTargets();
if (values.list) {
  for (const t of targets) console.log(t.name);
  process.exit(0);
}
const only = values.only?.split(',');
const chosen = only
  ? targets.filter((t) => only.some((o) => t.name === o || t.name.startsWith(`${o}-`)))
  : targets;
if (chosen.length === 0) throw new Error(`no target matches --only ${values.only}`);
if (!(globalThis as { gc?: unknown }).gc) console.log('(no --expose-gc: heap figures include garbage)');
console.log(`fuzz: ${chosen.length} decoders x ${inputs} inputs, seed ${seed}, hang = input > ${HANG_MS} ms`);
console.log(
  'decoder              inputs   rejected  crashes  hangs stalls  slowest ms   secs  heap MB before -> after',
);
let bad = 0;
const t0 = Date.now();
for (const t of chosen) {
  const r = await fuzzTarget(t, inputs, seed);
  bad += r.crashes + r.hangs;
  console.log(
    [
      r.name.padEnd(18),
      String(r.inputs).padStart(9),
      String(r.rejected).padStart(10),
      String(r.crashes).padStart(8),
      String(r.hangs).padStart(6),
      String(r.stalls).padStart(6),
      r.slowestMs.toFixed(2).padStart(11),
      (r.ms / 1000).toFixed(1).padStart(6),
      `  ${r.heapBeforeMB.toFixed(1)} -> ${r.heapAfterMB.toFixed(1)}`,
    ].join(' '),
  );
  for (const c of r.firstCrashes)
    console.log(
      `  crash: ${c.error.split('\n').slice(0, 3).join(' | ')}\n    input ${c.input.slice(0, 400)}`,
    );
}
console.log(
  `total ${((Date.now() - t0) / 1000).toFixed(0)} s; ${bad === 0 ? 'no crash, no hang' : `${bad} crashes + hangs`}`,
);
process.exit(bad === 0 ? 0 : 1);
