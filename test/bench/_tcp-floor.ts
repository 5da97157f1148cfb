// The onion bench's reference floor: the same echo load through a chain of plain Node TCP forwarders
// (test/bench/tcp-forwarder.mjs, 4 processes = 8 process passes per echoed cell, as initiator, 2 hops
// and destination) with no crypto, no routing and no API. What that costs is what any Node relay pays
// for its sockets on this machine before doing anything of its own.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pace } from './_pace.ts';
import { forwardTo } from './tcp-forwarder.mjs';

const CELL = 240;
const CHAIN = 4;
const CONNS = 24; // as many API connections as the onion timing part uses

export interface FloorResult {
  rtts: number[];
  sent: number;
  got: number;
  /** CPU seconds of the forwarder processes. */
  cpu: number;
  /** The same for each forwarder process. */
  cpuEach: number[];
  /** CPU seconds of this process (streams, echo, any forwarders run here). */
  bench: number;
  seconds: number;
}

function cpuOf(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const x = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(x[11]) + Number(x[12])) / 100;
}

function onCells(sock: Socket, onCell: (c: Buffer) => void): void {
  let rest = Buffer.alloc(0);
  sock.on('data', (chunk: Buffer) => {
    const d = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    let at = 0;
    for (; d.length - at >= CELL; at += CELL) onCell(d.subarray(at, at + CELL));
    rest = Buffer.from(d.subarray(at));
  });
}

async function startForwarder(next: number): Promise<{ proc: ChildProcess; port: number }> {
  const file = fileURLToPath(new URL('./tcp-forwarder.mjs', import.meta.url));
  const proc = spawn(process.execPath, [file, String(next)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    proc.once('exit', (code) => reject(new Error(`forwarder exited with ${code}`)));
  });
  return { proc, port };
}

export interface FloorChain {
  /** `n` streams of 50 cells/s each (echoed at the far end): `warmupMs`, then `ms` measured. */
  load(n: number, ms: number, warmupMs: number): Promise<FloorResult>;
  /** The forwarder processes (the ones in the bench process are not listed). */
  pids: number[];
  stop(): Promise<void>;
}

/**
 * The echo server and CHAIN forwarders in front of it. Position 0 is the one the streams connect to
 * (the initiator's place), CHAIN - 1 the destination's; `inBench(pos)` runs that forwarder inside this
 * process instead of its own (the capacity part's layouts: no more processes than cores).
 */
export async function startFloorChain(inBench: (pos: number) => boolean = () => false): Promise<FloorChain> {
  const echo = createServer((s) => {
    s.setNoDelay(true);
    s.on('error', () => {}); // the chain resets it when a step's streams end
    onCells(s, (c) => s.write(Buffer.from(c)));
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  const procs: ChildProcess[] = [];
  const servers: Server[] = [echo];
  const stop = async () => {
    for (const p of procs) p.kill();
    for (const s of servers) s.close();
  };
  let port = (echo.address() as { port: number }).port;
  try {
    for (let pos = CHAIN - 1; pos >= 0; pos--) {
      if (inBench(pos)) {
        const s = await forwardTo(port);
        servers.push(s);
        port = (s.address() as { port: number }).port;
      } else {
        const f = await startForwarder(port);
        procs.push(f.proc);
        port = f.port;
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const first = port;
  return {
    load: (n, ms, warmupMs) => load(first, procs, n, ms, warmupMs),
    pids: procs.map((p) => p.pid!),
    stop,
  };
}

/** Runs `counts` streams of 50 cells/s each (echoed at the far end): `warmup` s, then `seconds` measured. */
export async function tcpFloor(
  counts: number[],
  seconds: number,
  warmup: number,
): Promise<Map<number, FloorResult>> {
  const chain = await startFloorChain();
  const out = new Map<number, FloorResult>();
  try {
    for (const n of counts) out.set(n, await chain.load(n, seconds * 1000, warmup * 1000));
  } finally {
    await chain.stop();
  }
  return out;
}

/** Same pacing and warm-up as the onion echo load: a 1 ms loop sends each stream's due cells. */
async function load(
  port: number,
  chain: ChildProcess[],
  n: number,
  ms: number,
  warmupMs: number,
): Promise<FloorResult> {
  const conns = await Promise.all(
    Array.from(
      { length: CONNS },
      () =>
        new Promise<Socket>((r) => {
          const s = connect(port, '127.0.0.1', () => r(s));
          s.setNoDelay(true);
          s.on('error', () => {}); // a reset shows as frames not delivered
        }),
    ),
  );
  const rtts: number[] = [];
  let got = 0;
  for (const c of conns)
    onCells(c, (cell) => {
      if (cell[12] === 0) return; // sent during the warm-up
      rtts.push(performance.now() - cell.readDoubleBE(4));
      got++;
    });
  let cpu0: number[] = [];
  let bench0 = process.cpuUsage();
  const { sent, start } = await pace(
    n,
    ms,
    warmupMs,
    (i, _seq, measured) => {
      const cell = Buffer.alloc(CELL);
      cell.writeDoubleBE(performance.now(), 4);
      cell[12] = measured ? 1 : 0;
      conns[i % CONNS]!.write(cell);
    },
    () => {
      cpu0 = chain.map((p) => cpuOf(p.pid!));
      bench0 = process.cpuUsage();
    },
  );
  const b = process.cpuUsage(bench0);
  const cpuEach = chain.map((p, i) => cpuOf(p.pid!) - cpu0[i]!);
  const cpu = cpuEach.reduce((s, x) => s + x, 0);
  for (const c of conns) c.destroy();
  return {
    rtts,
    sent,
    got,
    cpu,
    cpuEach,
    bench: (b.user + b.system) / 1e6,
    seconds: (performance.now() - start) / 1000,
  };
}
