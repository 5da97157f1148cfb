// The cleanup registry of hosts on one machine (relay/dev/hosts.ts): every set of network
// namespaces is recorded in a file <REGISTRY>/<id>.json ({ pid, namespaces }) before it is made.
// This script removes them, in three modes, so that no namespace outlives its creator however
// that creator ends:
//   --destroy FILE   now (normal stop, and the creator's 'exit' handler, synchronously)
//   --watch FILE     once the creator's pid is gone (SIGKILL of a test worker): started detached
//   --sweep          every recorded set whose creator is gone (run before making new ones)
// Removing a namespace: kill what still runs in it (relays, forwarders, Chromium), then delete it;
// its veths go with it. Plain JS: it starts without a TypeScript loader, in ~40 ms.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

/** /run is root's tmpfs (cleared at boot, like the namespaces); /tmp where /run is not writable. */
export function registryDir() {
  for (const dir of ['/run/voidphone-netns', '/tmp/voidphone-netns']) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return dir;
    } catch {}
  }
  throw new Error('no writable folder for the namespace registry');
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

function ip(args) {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

/** Only names our hosts make (`<prefix>-<hex id>-<role>`, see netnsPrefix): never another tool's. */
const OURS = /^[a-z]{2,6}-[0-9a-f]{6}-[a-z0-9]+$/;

function destroyNamespace(ns) {
  if (!OURS.test(ns)) return;
  // Twice: a process may fork while we kill (Chromium starts helpers).
  for (let pass = 0; pass < 2; pass++) {
    for (const pid of ip(['netns', 'pids', ns]).split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {}
    }
  }
  ip(['netns', 'del', ns]);
}

export function destroy(file) {
  let rec;
  try {
    rec = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return;
  }
  for (const ns of rec.namespaces ?? []) destroyNamespace(ns);
  try {
    unlinkSync(file);
  } catch {}
}

export function sweep(dir = registryDir()) {
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.json')) continue;
    const file = join(dir, f);
    try {
      const rec = JSON.parse(readFileSync(file, 'utf8'));
      if (!alive(rec.pid)) destroy(file);
    } catch {
      // A file being written right now, or garbage: leave it.
    }
  }
}

function watch(file, pid) {
  const timer = setInterval(() => {
    if (!existsSync(file)) process.exit(0);
    if (alive(pid)) return;
    clearInterval(timer);
    destroy(file);
    process.exit(0);
  }, 500);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [mode, file, pid] = process.argv.slice(2);
  if (mode === '--destroy' && file) destroy(file);
  else if (mode === '--watch' && file && pid) watch(file, Number(pid));
  else if (mode === '--sweep') sweep();
  else {
    process.stderr.write('usage: reaper.mjs --destroy FILE | --watch FILE PID | --sweep\n');
    process.exit(2);
  }
}
