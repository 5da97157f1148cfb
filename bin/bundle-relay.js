// Bundles relay/main.ts and what it imports into one ES module that runs on plain node: no tsx loader
// thread with its own V8 heap (~35 MB of RSS per relay). Used by the launcher
// (bin/voidphone-relay.js) and by `npm run build:relay`, which writes dist/relay/relay.mjs so an
// installed relay never writes anything at start (systemd ProtectSystem=strict, read-only installs).
import { appendFileSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const PREBUILT = join(REPO, 'dist/relay/relay.mjs');
const ENTRY = join(REPO, 'relay/main.ts');
const SOURCES = ['relay', 'shared', 'package.json', 'bin/voidphone-relay.js', 'bin/bundle-relay.js'];

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

/** Whether the bundle at `out` exists and is newer than every source. */
export function fresh(out) {
  try {
    const built = statSync(out).mtimeMs;
    return SOURCES.every((s) => newest(join(REPO, s)) < built);
  } catch {
    return false;
  }
}

/**
 * Packages stay outside the bundle (resolved from node_modules at run time, as with tsx). A bundle
 * outside the checkout (a cache folder) cannot find node_modules by walking up from itself: there
 * each package import names the file esbuild resolved, by absolute path.
 */
function packagesPlugin(outsideRepo) {
  return {
    name: 'packages',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        if (!outsideRepo) return { path: args.path, external: true };
        if (args.pluginData === 'packages') return undefined;
        const r = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          pluginData: 'packages',
        });
        if (r.errors.length) return { errors: r.errors };
        return { path: pathToFileURL(r.path).href, external: true };
      });
    },
  };
}

/** Writes the bundle to `out` (atomically: relays started together never see half a file). */
export async function bundle(out) {
  // esbuild as tsx resolves it (a dependency of tsx, wherever npm put it).
  const esbuild = createRequire(join(REPO, 'node_modules/tsx/package.json'))('esbuild');
  const tmp = `${out}.${process.pid}.tmp`;
  await esbuild.build({
    entryPoints: [ENTRY],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // A map file beside the bundle, not inline, and not loaded by default: node decodes a map the first
    // time it formats a stack trace through the bundle, which cost every relay +6.8 MB of heap for good
    // (the soak's heap "growth"), and an inline map is ~0.75 MB of heap strings even before that.
    // NODE_OPTIONS=--enable-source-maps makes stack traces name the .ts files (docs/operating.md).
    sourcemap: 'external',
    sourcesContent: false,
    logLevel: 'silent',
    plugins: [
      packagesPlugin(!out.startsWith(REPO)),
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
  // esbuild's service process would otherwise live on beside the relay it built for (and outlive
  // a relay that is killed: seen as orphaned esbuild processes after a soak's churn).
  esbuild.stop?.();
  asciiOnly(tmp);
  appendFileSync(tmp, `//# sourceMappingURL=${basename(out)}.map\n`);
  renameSync(`${tmp}.map`, `${out}.map`); // the map first: a bundle is never without its map
  renameSync(tmp, out);
}

/**
 * V8 keeps each module's source text in the heap, one byte per character only when every character is
 * Latin-1: a single '\u2026' left in a comment made the 0.9 MB bundle 1.8 MB of every relay's heap.
 * esbuild already escapes strings (its default ASCII charset); what it leaves is in comments, where a
 * \uXXXX escape reads as well.
 */
function asciiOnly(file) {
  const text = readFileSync(file, 'utf8');
  if (!/[^\x00-\x7f]/.test(text)) return;
  const hex = (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  writeFileSync(file, text.replace(/[^\x00-\x7f]/g, hex));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { mkdirSync } = await import('node:fs');
  const { dirname } = await import('node:path');
  mkdirSync(dirname(PREBUILT), { recursive: true });
  await bundle(PREBUILT);
  process.stdout.write(`wrote ${PREBUILT}\n`);
}
