// The option tables of README.md and docs/*.md, rendered from relay/options.ts (the one source).
// `npm run docs:options` rewrites them; test/unit/option-tables.test.ts fails when they differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OPTION_DOCS, OPTION_SECTIONS, OPTIONS, type OptionSection } from './options.ts';

const cell = (s: string) => s.replaceAll('|', '\\|');

export function renderOptionTable(section: OptionSection): string[] {
  const rows = OPTIONS[section].map((r) => [
    r.keys.map((k) => `\`${k}\``).join(', '),
    cell(r.default),
    cell(r.meaning),
  ]);
  const head = ['option', 'default', 'meaning'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`;
  return [line(head), `| ${width.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)];
}

/** `text` with the first table after the heading naming `[section]` replaced by the rendered one. */
export function withOptionTable(text: string, section: OptionSection, file: string): string {
  const lines = text.split('\n');
  const heading = lines.findIndex((l) => /^#+ /.test(l) && l.includes(`[${section}]`));
  if (heading < 0) throw new Error(`${file}: no heading naming [${section}]`);
  let start = heading + 1;
  while (start < lines.length && !lines[start]!.startsWith('| ')) start++;
  if (start === lines.length) throw new Error(`${file}: no table after the [${section}] heading`);
  let end = start;
  while (end < lines.length && lines[end]!.startsWith('|')) end++;
  lines.splice(start, end - start, ...renderOptionTable(section));
  return lines.join('\n');
}

const REPO = fileURLToPath(new URL('..', import.meta.url));

/** Each documentation file with its tables as they should be: [path, current text, wanted text]. */
export function optionDocs(): [string, string, string][] {
  const files = new Map<string, OptionSection[]>([['README.md', [...OPTION_SECTIONS]]]);
  for (const s of OPTION_SECTIONS) files.set(OPTION_DOCS[s], [...(files.get(OPTION_DOCS[s]) ?? []), s]);
  return [...files].map(([path, sections]) => {
    const text = readFileSync(join(REPO, path), 'utf8');
    return [path, text, sections.reduce((t, s) => withOptionTable(t, s, path), text)];
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  for (const [path, text, wanted] of optionDocs()) {
    if (text === wanted) continue;
    writeFileSync(join(REPO, path), wanted);
    process.stdout.write(`updated ${path}\n`);
  }
}
