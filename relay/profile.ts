// VOIDPHONE_CPU_PROFILE=DIR: the relay records a V8 CPU profile from start to stop and writes it to
// DIR/relay-<pid>.cpuprofile (Chrome DevTools opens it). For finding where a relay's CPU goes under
// load (node refuses --cpu-prof in NODE_OPTIONS, and the testnet starts relays itself). Off by default.
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/** Starts profiling when `dir` is set; the returned function writes the profile (a no-op otherwise). */
export async function startCpuProfile(dir: string | undefined): Promise<() => Promise<void>> {
  if (!dir) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const file = join(dir, `relay-${process.pid}.cpuprofile`);
    try {
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, JSON.stringify(profile));
      process.stderr.write(`CPU profile written to ${file}\n`);
    } catch (e) {
      // A profile that cannot be written must not keep the relay from stopping.
      process.stderr.write(`CPU profile not written to ${file}: ${(e as Error).message}\n`);
    } finally {
      session.disconnect();
    }
  };
}
