// Offline analysis of a recording kept with VOIDPHONE_REC_DIR (pulse-rig.ts): double talk frame by
// frame, at the delay of that moment, and crosstalk between the rig's microphones (issue 17).
// Usage: npx tsx test/e2e/_analyse-rec.ts rec-….raw TURNS LEAD_S  (the script's conversation() options)
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conversation, figures, scriptOffsetS, carried } from './conversation.ts';
import { deinterleave, type Recording } from './pulse-rig.ts';
import { lags, heard, frameRms, active, db } from './hearing.ts';
import { percentile } from './voice-helpers.ts';

const [file, turns, lead] = process.argv.slice(2);
const [a, b, c, d] = deinterleave(readFileSync(file!), 4);
const rec: Recording = { ch: [a!, b!, c!, d!], startMs: 0 };
const script = conversation(mkdtempSync(join(tmpdir(), 'an-')), {
  turns: Number(turns),
  double: true,
  leadS: Number(lead),
});
const fig = figures(script, rec);
if (!fig) throw new Error('a direction carried nothing');
const off = scriptOffsetS(script, rec);
const dbl = script.double!;
for (const [name, dir, ref, out] of [
  ['A->B', fig.ab, rec.ch[0], rec.ch[3]],
  ['B->A', fig.ba, rec.ch[1], rec.ch[2]],
] as const) {
  const ls = lags(ref, out, { fromS: off + dbl.fromS, toS: off + dbl.toS + 1, winMs: 400, stepMs: 200 });
  const local = ls.length
    ? percentile(
        ls.map((l) => l.ms),
        0.5,
      )
    : NaN;
  const h2 = heard(ref, out, local, dir.gainDb, { fromS: off + dbl.fromS, toS: off + dbl.toS });
  console.log(
    `${name}: p50 ${dir.p50.toFixed(0)} gain ${dir.gainDb.toFixed(1)} dB; double heard ${dir.double!.pct.toFixed(0)}% at p50; local lags in double talk ${ls.map((l) => `${l.ms.toFixed(0)}(${l.peak.toFixed(2)})`).join(' ')}; heard at local ${local.toFixed(0)}: ${h2.pct.toFixed(0)}%; carried ${carried(rec, name === 'A->B' ? 'A' : 'B', off + dbl.fromS, off + dbl.toS).toFixed(0)}%`,
  );
  // per-frame gain during double talk at local lag, vs solo gain
  const r = frameRms(ref),
    q = frameRms(out),
    act = active(r);
  const sh = Math.round(local / 20);
  const g: number[] = [];
  for (let f = Math.floor((off + dbl.fromS) * 50); f < (off + dbl.toS) * 50; f++)
    if (act[f]) g.push(db(Math.max(q[f + sh - 1]!, q[f + sh]!, q[f + sh + 1]!) / r[f]!));
  console.log(
    `   gain per speech frame in double talk: p10 ${percentile(g, 0.1).toFixed(1)} p50 ${percentile(g, 0.5).toFixed(1)} p90 ${percentile(g, 0.9).toFixed(1)} dB`,
  );
  // Solo lags
  console.log(`   solo lags: ${dir.lags.map((l) => l.ms.toFixed(0)).join(' ')}`);
}
// Crosstalk: each mic's level while only the other party talks (it should be silent).
for (const t of script.turns) {
  const other = t.who === 'A' ? 1 : 0;
  const r = frameRms(rec.ch[other]);
  const own = frameRms(rec.ch[t.who === 'A' ? 0 : 1]);
  const sl = (x: Float64Array) =>
    Array.from(x.subarray(Math.floor((off + t.fromS) * 50), Math.floor((off + t.toS) * 50)));
  console.log(
    `turn ${t.who}: talker mic p50 ${db(percentile(sl(own), 0.5)).toFixed(1)} dB, other mic max ${db(Math.max(...sl(r))).toFixed(1)} dB`,
  );
}
