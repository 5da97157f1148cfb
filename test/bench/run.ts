// npm run bench [-- name ...]: runs the named benchmarks (all when none is named). Each one is
// test/bench/<name>.ts exporting run(args) and printing its own figures. Not part of npm test.
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();

// Benchmark names come first; everything from the first option on goes to each benchmark.
const [, , ...argv] = process.argv;
const firstFlag = argv.findIndex((a) => a.startsWith('-'));
const names = firstFlag < 0 ? argv : argv.slice(0, firstFlag);
const flags = firstFlag < 0 ? [] : argv.slice(firstFlag);
if (flags.includes('--help') || flags.includes('-h')) {
  console.log(`usage: npm run bench [-- NAME ... [--option value ...]]\navailable: ${available.join(', ')}`);
  process.exit(0);
}
const chosen = names.length ? names : available;
for (const name of chosen) {
  const file = `${here}${name}.ts`;
  if (!existsSync(file)) {
    console.error(`no benchmark "${name}" (available: ${available.join(', ')})`);
    process.exit(2);
  }
  console.log(`\n=== bench: ${name} ===`);
  const mod = (await import(file)) as { run(args: string[]): Promise<void> };
  await mod.run(flags);
}
process.exit(0);
