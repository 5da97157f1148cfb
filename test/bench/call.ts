// `npm run bench -- call [--parts=devices,setup,onion,path,neteq] [--devices=rig,harness,call,echo]
// [--calls=N] [--round=S] [--rounds=R] [--seconds=S] [--runs=N]`: five parts (all by default).
// 0. A call as a person hears it, through real (PulseAudio) devices (_device-voice.ts): the figures
//    of issue 17's table with their goals, against the browser's own WebRTC audio on the same rig.
// 1. Call set-up time in real Chromium on a local testnet. Alice clicks "Call bob"; we time, on
//    alice's call session, click → ringing (bob's page rings and says so) and click → connected
//    (bob's page accepts as soon as it rings).
// 2. A call over the onion (_onion-voice.ts): mouth-to-ear latency each way, audio gaps against the
//    round switch-overs, loss and concealment, link bytes idle vs in the call.
// 3. The audio path alone in Chromium (_voice.ts): mouth-to-ear and concealment under loss and jitter.
import { parseArgs } from 'node:util';
import { type ClientPage, demoNet, launch, openClient, waitOnline } from '../e2e/call-helpers.ts';

interface Sample {
  ringing: number;
  connected: number;
  calleeRang: number;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

export async function run(args: string[]): Promise<void> {
  // `--hosts N`: the call across hosts on one machine instead (root; _cross-host-call.ts).
  if (args.some((a) => a === '--hosts' || a.startsWith('--hosts='))) {
    const crossHost = (await import('./_cross-host-call.ts')) as { run(args: string[]): Promise<void> };
    return crossHost.run(args);
  }
  const parts = args
    .find((a) => a.startsWith('--parts='))
    ?.slice(8)
    .split(',');
  const want = (p: string) => !parts || parts.includes(p);
  if (want('devices')) {
    console.log('\n--- a call as a person hears it: real (PulseAudio) devices, speech in, speech out ---');
    const devices = (await import('./_device-voice.ts')) as { run(args: string[]): Promise<void> };
    await devices.run(args.filter((a) => /^--(round|devices|mics|reps)=/.test(a)));
  }
  if (want('setup')) await runSetup(args);
  if (want('onion')) {
    console.log(
      '\n--- a call over the onion (page taps: mouth-to-ear, gaps at switch-overs, link bytes) ---',
    );
    const onionVoice = (await import('./_onion-voice.ts')) as { run(args: string[]): Promise<void> };
    await onionVoice.run(args.filter((a) => /^--(round|rounds)=/.test(a)));
  }
  if (want('path')) {
    console.log('\n--- the audio path alone, no relays (page taps: mouth-to-ear, concealment) ---');
    const voice = (await import('./_voice.ts')) as { run(args: string[]): Promise<void> };
    await voice.run(args.filter((a) => !/^--(calls|round|rounds|parts|devices|mics|reps)\b/.test(a)));
  }
  if (want('neteq')) {
    console.log("\n--- our playout against WebRTC's NetEq fed our frames, no relays (issue 17) ---");
    const neteq = (await import('./_neteq.ts')) as { run(args: string[]): Promise<void> };
    await neteq.run(args.filter((a) => /^--runs=/.test(a)));
  }
}

async function runSetup(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { calls: { type: 'string', default: '10' }, round: { type: 'string', default: '5' } },
    strict: false,
  });
  const calls = Number(values.calls);
  const roundS = Number(values.round);
  const demo = await demoNet(roundS);
  const browser = await launch();
  try {
    const alice = await openClient(browser, demo.alice);
    const bob = await openClient(browser, demo.bob);
    await Promise.all([waitOnline(alice, 'bob', 60_000), waitOnline(bob, 'alice', 60_000)]);
    await bob.page.evaluate(() => {
      const vp = (
        globalThis as unknown as { voidphone: import('../../client/src/lib/api/voidphone.ts').VoidPhone }
      ).voidphone;
      vp.onCall((s) => {
        if (s.role === 'callee') s.accept();
      });
    });
    // The relay builds the call's tunnel in the round's build slot (build_in_slot): READY at a boundary.
    const samples = await series(alice, bob, calls, roundS);
    report(samples, `${calls} calls, ${demo.net.relays.length} relays, round ${roundS} s`, roundS);
  } finally {
    await browser.close();
    await demo.net.stop();
  }
}

async function series(alice: ClientPage, bob: ClientPage, calls: number, roundS: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let i = 0; i < calls; i++) {
    // Users press Call at any moment of a round: sample the phase (else the loop syncs to rounds).
    await new Promise((r) => setTimeout(r, Math.random() * roundS * 1000));
    await alice.page.getByRole('button', { name: 'Call bob' }).click();
    await alice.page
      .getByRole('heading', { name: 'In call with bob' })
      .waitFor({ timeout: 4 * roundS * 1000 + 10_000 });
    const t = await alice.page.evaluate(() => {
      const vp = (
        globalThis as unknown as { voidphone: import('../../client/src/lib/api/voidphone.ts').VoidPhone }
      ).voidphone;
      return vp.currentCall!.times;
    });
    const incoming = await bob.page.evaluate(() => {
      const vp = (
        globalThis as unknown as { voidphone: import('../../client/src/lib/api/voidphone.ts').VoidPhone }
      ).voidphone;
      return vp.currentCall!.times.incoming!;
    });
    samples.push({
      ringing: (t.ringing ?? t.connected!) - t.connecting!,
      connected: t.connected! - t.connecting!,
      calleeRang: incoming - t.connecting!,
    });
    await alice.page.getByRole('button', { name: 'Hang up' }).click();
    await bob.page.getByText('They hung up.').waitFor({ timeout: 10_000 });
    for (const c of [alice, bob]) await c.page.getByRole('button', { name: 'OK' }).click();
    process.stdout.write(
      `call ${i + 1}/${calls}: ringing ${samples.at(-1)!.ringing} ms, connected ${samples.at(-1)!.connected} ms\n`,
    );
  }
  return samples;
}

function report(samples: Sample[], title: string, roundS: number): void {
  const calls = samples.length;
  const line = (name: string, xs: number[]) =>
    `${name.padEnd(28)} p50 ${String(pct(xs, 50)).padStart(6)} ms   p95 ${String(pct(xs, 95)).padStart(6)} ms   max ${String(Math.max(...xs)).padStart(6)} ms`;
  process.stdout.write(
    [
      '',
      `call set-up, ${title} (goal: within one round + 2 s = ${roundS * 1000 + 2000} ms)`,
      line(
        'click -> callee rings',
        samples.map((s) => s.calleeRang),
      ),
      line(
        'click -> caller ringing',
        samples.map((s) => s.ringing),
      ),
      line(
        'click -> connected',
        samples.map((s) => s.connected),
      ),
      `connected within goal: ${samples.filter((s) => s.connected <= roundS * 1000 + 2000).length}/${calls}`,
      '',
    ].join('\n'),
  );
}
