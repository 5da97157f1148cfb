// Real audio devices for the voice e2e tests and the call benchmark: a private PulseAudio server whose
// null sinks stand in for two people's microphones and speakers. Each Chromium captures from its own
// virtual microphone and plays to its own virtual speaker (PULSE_SOURCE / PULSE_SINK), so the audio
// goes through the browser's real capture (echo canceller, noise suppression, device buffers) and
// real output, like a person's would.
//
// All four devices are channels of ONE 4-channel null sink ("bus"), so a single recording of the
// bus's monitor holds what each microphone got and what each speaker played, sample-aligned on the
// sound server's clock: mouth-to-ear is a lag between two channels of one file, no clocks to match.
//
//   bus channel  device                        fed by
//   0 FL         micA (source, remap of bus)   feed's left  (+ A's echo, if coupled)
//   1 FR         micB                          feed's right (+ B's echo, if coupled)
//   2 RL         spkA (sink, remap into bus)   Chromium A's output
//   3 RR         spkB                          Chromium B's output
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

export const RATE = 48000;
export type Party = 'A' | 'B';

const SCRIPT = `
load-module module-native-protocol-unix socket=@SOCK@ auth-anonymous=1
load-module module-null-sink sink_name=void rate=48000 channels=2
load-module module-null-source source_name=nomic rate=48000 channels=1
load-module module-null-sink sink_name=bus channels=4 channel_map=front-left,front-right,rear-left,rear-right rate=48000
load-module module-remap-sink sink_name=feed master=bus channels=2 master_channel_map=front-left,front-right channel_map=front-left,front-right remix=no
load-module module-remap-sink sink_name=echoA master=bus channels=1 master_channel_map=front-left channel_map=mono remix=no
load-module module-remap-sink sink_name=echoB master=bus channels=1 master_channel_map=front-right channel_map=mono remix=no
load-module module-remap-sink sink_name=spkA master=bus channels=1 master_channel_map=rear-left channel_map=mono remix=no
load-module module-remap-sink sink_name=spkB master=bus channels=1 master_channel_map=rear-right channel_map=mono remix=no
load-module module-remap-source source_name=micA master=bus.monitor channels=1 master_channel_map=front-left channel_map=mono remix=no
load-module module-remap-source source_name=micB master=bus.monitor channels=1 master_channel_map=front-right channel_map=mono remix=no
set-default-sink void
set-default-source nomic
`;

export interface Recording {
  /** micA, micB, spkA, spkB: what each device carried, on one clock. */
  ch: [Float32Array, Float32Array, Float32Array, Float32Array];
  /** Date.now() when the first block came in, minus the recorder's buffer: coarse (±20 ms). */
  startMs: number;
}

export interface PulseRig {
  server: string;
  /** Environment for a Chromium that is party A or B. */
  env(p: Party): Record<string, string>;
  launch(p: Party, extraArgs?: string[]): Promise<Browser>;
  /** Starts recording the bus; `stop()` ends it and returns the four channels. */
  record(): { stop(): Promise<Recording> };
  /** Plays two mono tracks (A's and B's mouths) into the microphones at once; resolves when done. */
  play(a: Float32Array, b: Float32Array): { done: Promise<void>; startMs: number; stop(): void };
  /** Feeds party p's speaker back into its own microphone (gain dB, delay ms): echo on speakers. */
  couple(p: Party, gainDb: number, delayMs: number): void;
  stop(): Promise<void>;
}

/** Chromium flags for real devices: no fake device, the sound server decides where audio goes. */
export const DEVICE_CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  // The product plays through NetEq's loopback pair (neteq.ts): on 127.0.0.1 with this flag.
  '--allow-loopback-in-peer-connection',
];

function waitFor(cond: () => boolean, what: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (cond()) {
        clearInterval(t);
        resolve();
      } else if (Date.now() > end) {
        clearInterval(t);
        reject(new Error(`timed out after ${ms} ms: ${what}`));
      }
    }, 20);
  });
}

function exited(p: ChildProcess, ms: number): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      resolve();
    }, ms);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** s16le interleaved bytes -> one Float32Array per channel. */
export function deinterleave(b: Buffer, channels: number): Float32Array[] {
  const n = Math.floor(b.length / (2 * channels));
  const out = Array.from({ length: channels }, () => new Float32Array(n));
  for (let i = 0; i < n; i++)
    for (let c = 0; c < channels; c++) out[c]![i] = b.readInt16LE(2 * (i * channels + c)) / 32768;
  return out;
}

function interleave(tracks: Float32Array[]): Buffer {
  const n = Math.max(...tracks.map((t) => t.length));
  const b = Buffer.alloc(n * tracks.length * 2);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < tracks.length; c++) {
      const v = Math.max(-1, Math.min(1, tracks[c]![i] ?? 0));
      b.writeInt16LE(Math.round(v * 32767), 2 * (i * tracks.length + c));
    }
  return b;
}

/** Starts a private PulseAudio server (own runtime dir and socket); stop() ends it by its PID. */
export async function startPulse(): Promise<PulseRig> {
  const dir = mkdtempSync(join(tmpdir(), 'voice-pulse-'));
  const sock = join(dir, 'native');
  mkdirSync(join(dir, '.config/pulse'), { recursive: true });
  writeFileSync(
    join(dir, '.config/pulse/daemon.conf'),
    'default-sample-rate = 48000\nalternate-sample-rate = 48000\nexit-idle-time = -1\nflat-volumes = no\n',
  );
  writeFileSync(join(dir, 'default.pa'), SCRIPT.replace('@SOCK@', sock));
  const env = {
    ...process.env,
    HOME: dir,
    XDG_RUNTIME_DIR: dir,
    XDG_CONFIG_HOME: join(dir, '.config'),
    PULSE_RUNTIME_PATH: dir,
    PULSE_SERVER: `unix:${sock}`,
  };
  const children: ChildProcess[] = [];
  const pa = spawn(
    'pulseaudio',
    [
      ...(process.env.VOIDPHONE_PULSE_LOG ? ['-vv'] : []),
      '-n',
      '--daemonize=no',
      '--exit-idle-time=-1',
      '--use-pid-file=no',
      '--disable-shm=yes',
      '-F',
      join(dir, 'default.pa'),
    ],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  pa.stderr!.on('data', (d) => {
    log = (log + d).slice(-4000);
  });
  await waitFor(() => existsSync(sock) || pa.exitCode !== null, 'pulseaudio socket', 10_000).catch(() => {});
  if (!existsSync(sock)) {
    pa.kill();
    throw new Error(`pulseaudio did not start: ${log}`);
  }
  const pactl = (...args: string[]) => execFileSync('pactl', args, { env, encoding: 'utf8' });
  // The socket exists a little before the modules are loaded: wait for the last device.
  await waitFor(
    () => {
      try {
        return pactl('list', 'short', 'sources').includes('micB');
      } catch {
        return false;
      }
    },
    'pulseaudio devices',
    10_000,
  );

  const rig: PulseRig = {
    server: `unix:${sock}`,
    env: (p) => ({
      PULSE_SERVER: `unix:${sock}`,
      PULSE_SOURCE: `mic${p}`,
      PULSE_SINK: `spk${p}`,
      XDG_RUNTIME_DIR: dir,
      PULSE_RUNTIME_PATH: dir,
    }),
    launch: (p, extraArgs = []) =>
      chromium.launch({
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: [...DEVICE_CHROMIUM_ARGS, ...extraArgs],
        // Playwright mutes headless browsers by default: a muted speaker plays nothing.
        ignoreDefaultArgs: ['--mute-audio'],
        env: { ...(process.env as Record<string, string>), ...rig.env(p) },
      }),
    record() {
      const file = join(dir, `rec-${Date.now()}.raw`);
      const args = [
        '-d',
        'bus.monitor',
        '--format=s16le',
        '--rate=48000',
        '--channels=4',
        '--channel-map=front-left,front-right,rear-left,rear-right',
        '--latency-msec=20',
        '--raw',
        file,
      ];
      const rec = spawn('parec', args, { env, stdio: 'ignore' });
      children.push(rec);
      const startMs = Date.now();
      return {
        async stop() {
          rec.kill('SIGINT');
          await exited(rec, 3000);
          // Keep the raw recording for analysis after the run (s16le, 4 channels, 48 kHz).
          const keep = process.env.VOIDPHONE_REC_DIR;
          if (keep && existsSync(file)) copyFileSync(file, join(keep, `rec-${Date.now()}.raw`));
          const [a, b, c, d] = deinterleave(readFileSync(file), 4);
          rmSync(file, { force: true });
          return { ch: [a!, b!, c!, d!], startMs };
        },
      };
    },
    play(a, b) {
      const p = spawn(
        'pacat',
        ['-d', 'feed', '--format=s16le', '--rate=48000', '--channels=2', '--latency-msec=20', '--raw'],
        { env, stdio: ['pipe', 'ignore', 'ignore'] },
      );
      children.push(p);
      p.stdin!.on('error', () => {}); // stopped early: the rest of the feed is dropped
      p.stdin!.end(interleave([a, b]));
      return { done: exited(p, 3_600_000), startMs: Date.now(), stop: () => p.kill('SIGTERM') };
    },
    couple(p, gainDb, delayMs) {
      pactl(
        'load-module',
        'module-loopback',
        `source=spk${p}.monitor`,
        `sink=echo${p}`,
        `latency_msec=${delayMs}`,
        'source_dont_move=true',
        'sink_dont_move=true',
      );
      pactl('set-sink-volume', `echo${p}`, `${gainDb}dB`);
    },
    async stop() {
      if (process.env.VOIDPHONE_PULSE_LOG) console.log(log);
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      pa.kill('SIGTERM');
      await exited(pa, 5000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return rig;
}
