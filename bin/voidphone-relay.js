#!/usr/bin/env node
// Runs relay/main.ts on plain node from a bundle (bin/bundle-relay.js), and never writes into the
// install: an installed relay runs dist/relay/relay.mjs (`npm run build:relay`) as long as it is newer
// than the sources. A checkout whose sources changed since rebuilds its bundle in the first writable
// cache folder: $VOIDPHONE_CACHE_DIR, systemd's $CACHE_DIRECTORY, $XDG_CACHE_HOME/voidphone, then
// node_modules/.cache/voidphone. The file name carries a hash of the checkout's path, so checkouts
// sharing one node_modules never run each other's code. Without any writable folder (or with
// VOIDPHONE_TSX=1) the sources run through tsx, its disk cache off.
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundle, fresh, PREBUILT, REPO } from './bundle-relay.js';

function cacheDirs() {
  const env = process.env;
  return [
    env.VOIDPHONE_CACHE_DIR,
    env.CACHE_DIRECTORY?.split(':')[0],
    env.XDG_CACHE_HOME && join(env.XDG_CACHE_HOME, 'voidphone'),
    join(REPO, 'node_modules/.cache/voidphone'),
  ].filter(Boolean);
}

/** The first cache folder we may write, or undefined. */
function writableCache() {
  for (const dir of cacheDirs()) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      accessSync(dir, constants.W_OK);
      return dir;
    } catch {}
  }
  return undefined;
}

async function entry() {
  if (process.env.VOIDPHONE_TSX === '1') return undefined;
  if (fresh(PREBUILT)) return PREBUILT;
  const dir = writableCache();
  if (!dir) {
    process.stderr.write('voidphone-relay: no writable cache folder for the bundle; running through tsx\n');
    return undefined;
  }
  const tag = createHash('sha256').update(REPO).digest('hex').slice(0, 12);
  const out = join(dir, `relay-${tag}.mjs`);
  if (fresh(out)) return out;
  try {
    await bundle(out);
    return out;
  } catch (e) {
    process.stderr.write(`voidphone-relay: bundling failed (${e?.message ?? e}); running through tsx\n`);
    return undefined;
  }
}

const file = await entry();
if (file) {
  // No source maps unless asked (NODE_OPTIONS=--enable-source-maps): see bin/bundle-relay.js.
  await import(pathToFileURL(file).href);
} else {
  process.env.TSX_DISABLE_CACHE = '1'; // read-only install: no cache in $TMPDIR either
  const { register } = await import('tsx/esm/api');
  register();
  await import('../relay/main.ts');
}
