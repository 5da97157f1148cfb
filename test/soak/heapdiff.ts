// node bin/run-ts.js test/soak/heapdiff.ts A.heapsnapshot B.heapsnapshot [top]
// What grew between two heap snapshots of one process, by constructor (node type and name): count and
// self size in each, sorted by bytes added. Dev-only: the soak's memory check says *that* a relay grew,
// this says *what* (snapshots from test/soak/vitals.mjs with VOIDPHONE_HEAPSNAP_MIN).
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

type Census = Map<string, { count: number; bytes: number }>;

function census(file: string): Census {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const f = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const [iType, iName, iSize] = [f.indexOf('type'), f.indexOf('name'), f.indexOf('self_size')];
  const out: Census = new Map();
  for (let i = 0; i < s.nodes.length; i += f.length) {
    const type = types[s.nodes[i + iType]!]!;
    // Strings and code are named by their content: pool them by type.
    const name = ['object', 'closure', 'native'].includes(type) ? s.strings[s.nodes[i + iName]!] : '';
    const key = `${type} ${name}`.trim();
    const e = out.get(key) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += s.nodes[i + iSize]!;
    out.set(key, e);
  }
  return out;
}

const [a, b, top] = process.argv.slice(2);
if (!a || !b) {
  console.error('usage: heapdiff.ts A.heapsnapshot B.heapsnapshot [top]');
  process.exit(2);
}
const [ca, cb] = [census(a), census(b)];
const rows = [...new Set([...ca.keys(), ...cb.keys()])].map((k) => {
  const x = ca.get(k) ?? { count: 0, bytes: 0 };
  const y = cb.get(k) ?? { count: 0, bytes: 0 };
  return { k, dc: y.count - x.count, db: y.bytes - x.bytes, c: y.count, bytes: y.bytes };
});
rows.sort((p, q) => q.db - p.db);
const total = (c: Census) => [...c.values()].reduce((s, e) => s + e.bytes, 0);
console.log(`total self size ${(total(ca) / 1e6).toFixed(2)} -> ${(total(cb) / 1e6).toFixed(2)} MB`);
for (const r of rows.slice(0, Number(top ?? 30)))
  console.log(
    `${(r.db / 1024).toFixed(1).padStart(9)} KB ${String(r.dc).padStart(8)} objs  now ${r.c} / ${(r.bytes / 1024).toFixed(0)} KB  ${r.k}`,
  );
