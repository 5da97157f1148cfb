#!/usr/bin/env node
// Runs relay/main.ts. The TypeScript sources are bundled with esbuild (installed with tsx) into
// node_modules/.cache/voidphone/relay.mjs, rebuilt whenever a source is newer, and that runs on plain
// node: no tsx loader thread with its own V8 heap (~35 MB of RSS per relay), and still no build step
// after `npm ci`. If bundling fails for any reason, the sources run through tsx as before.
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = join(REPO, 'relay/main.ts');
const OUT = join(REPO, 'node_modules/.cache/voidphone/relay.mjs');
const SOURCES = ['relay', 'shared', 'package.json', 'bin/voidphone-relay.js'];

/** Newest mtime of the sources the bundle is made of. */
function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs; // a deleted file changes its folder's mtime
  for (const e of readdirSync(path, { withFileTypes: true })) {
    if (e.isDirectory() || e.name.endsWith('.ts')) m = Math.max(m, newest(join(path, e.name)));
  }
  return m;
}

function fresh() {
  try {
    const built = statSync(OUT).mtimeMs;
    return SOURCES.every((s) => newest(join(REPO, s)) < built);
  } catch {
    return false;
  }
}

async function bundle() {
  // esbuild as tsx resolves it (a dependency of tsx, wherever npm put it).
  const esbuild = createRequire(join(REPO, 'node_modules/tsx/package.json'))('esbuild');
  mkdirSync(dirname(OUT), { recursive: true });
  const tmp = `${OUT}.${process.pid}.tmp`;
  await esbuild.build({
    entryPoints: [ENTRY],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external', // resolved from node_modules at run time, as with tsx
    sourcemap: 'inline',
    sourcesContent: false,
    logLevel: 'silent',
    plugins: [
      {
        // Each file keeps its own import.meta.url, so paths relative to a source file still work.
        name: 'source-import-meta-url',
        setup(build) {
          build.onLoad({ filter: /\.ts$/ }, (args) => ({
            contents: readFileSync(args.path, 'utf8').replaceAll(
              'import.meta.url',
              JSON.stringify(pathToFileURL(args.path).href),
            ),
            loader: 'ts',
          }));
        },
      },
    ],
  });
  renameSync(tmp, OUT); // atomic: relays started together never see half a file
}

let entry = OUT;
if (process.env.VOIDPHONE_TSX === '1') entry = undefined;
else if (!fresh()) {
  try {
    await bundle();
  } catch (e) {
    process.stderr.write(`voidphone-relay: bundling failed (${e?.message ?? e}); running through tsx\n`);
    entry = undefined;
  }
}
if (entry) {
  process.setSourceMapsEnabled(true); // stack traces name the .ts files
  await import(pathToFileURL(entry).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../relay/main.ts');
}
