// The userspace WAN between hosts on one machine (relay/dev/hosts.ts, for kernels without netem).
// Two kinds of process, both started by hosts.ts:
//
//   front CONFIG.json   in the WAN namespace, where every host address is local (an "AnyIP" route):
//                       a host's relay dialing another host's address:port lands here. The socket's
//                       local address is the one dialed, its remote address tells the source host.
//                       Each chunk is held, jittered and "lost" (see below), then goes on through a
//                       Unix socket to the source host's dialer. Both directions are shaped here.
//   dial SOCK ADDRESS   in a host's namespace: for each Unix connection reads "host port\n", dials it
//                       from ADDRESS (the host's own address, so the far relay sees the true source)
//                       over the direct router, and pipes bytes both ways.
//
// What is modelled, per direction, with the conditions of the destination host's link (as netem on
// the router's port toward that host would): one-way delay delay/2 ± jitter (never reordering: TCP
// delivers in order); a rate in bits/s per destination host, shared by all its connections; loss per
// TCP segment (1448 bytes): TCP hides loss, so a chunk with a lost segment arrives one recovery time
// later (default max(2 RTT, 10 ms), Linux's tail-loss probe; rto=200ms models a plain timeout) and
// holds up everything behind it on that connection, which is what an application over TCP sees.
// Plain JS so it starts without a TypeScript loader. Prints "ready" on stdout once listening.
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

const MSS = 1448;
/** Bytes held per direction before the source is paused: every queue is bounded. */
const HIGH_WATER = 4 << 20;
const MAX_HEADER = 64;

function closeBoth(a, b) {
  a.destroy();
  b.destroy();
}

/** A shaper for one direction of one connection: write(chunk) releases it to `out` later. */
function shaper(from, out, cond, link) {
  const queue = [];
  let queued = 0;
  let last = 0;
  let timer;
  let ended = false;
  const release = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length && queue[0].at <= now + 0.5) {
      const { chunk } = queue.shift();
      queued -= chunk.length;
      out.write(chunk);
    }
    if (queued < HIGH_WATER / 2 && from.isPaused()) from.resume();
    if (queue.length) timer = setTimeout(release, Math.max(0, queue[0].at - now));
    else if (ended) out.end();
  };
  const write = (chunk) => {
    const now = performance.now();
    let at = now + cond.delayMs / 2 + (Math.random() * 2 - 1) * cond.jitterMs;
    const segments = Math.ceil(chunk.length / MSS);
    if (cond.loss > 0 && Math.random() < 1 - (1 - cond.loss) ** segments) at += recovery(cond);
    if (cond.rateBps > 0) {
      link.free = Math.max(link.free, at) + (chunk.length * 8000) / cond.rateBps;
      at = link.free;
    }
    at = Math.max(at, last, now);
    last = at;
    queue.push({ at, chunk });
    queued += chunk.length;
    if (queued > HIGH_WATER) from.pause();
    if (!timer) timer = setTimeout(release, at - now);
  };
  /** The source finished: end `out` once what is held has left (a FIN is delayed like data). */
  write.end = () => {
    ended = true;
    if (!queue.length) out.end();
  };
  return write;
}

function recovery(cond) {
  return cond.rtoMs > 0 ? cond.rtoMs : Math.max(2 * cond.delayMs, 10);
}

/**
 * config: { ports: number[], hosts: [{ address, front, dialSock, wan }] } — wan is the conditions of
 * the link toward that host (or null: no conditions).
 */
function front(config) {
  const byFront = new Map(config.hosts.map((h) => [h.front, h]));
  const byAddress = new Map(config.hosts.map((h) => [h.address, h]));
  const links = new Map(config.hosts.map((h) => [h.address, { free: 0 }]));
  const none = { delayMs: 0, jitterMs: 0, loss: 0, rateBps: 0, rtoMs: 0 };
  const onConnection = (sock) => {
    const src = byFront.get(sock.remoteAddress?.replace(/^::ffff:/, ''));
    const dstAddr = sock.localAddress?.replace(/^::ffff:/, '');
    const dst = byAddress.get(dstAddr);
    if (!src || !dst) {
      sock.destroy(); // not from one of our hosts, or to no host: nothing to forward to
      return;
    }
    const pipe = connect({ path: src.dialSock, allowHalfOpen: true });
    pipe.write(`${dstAddr} ${sock.localPort}\n`);
    sock.setNoDelay(true);
    const toDst = shaper(sock, pipe, dst.wan ?? none, links.get(dst.address));
    const toSrc = shaper(pipe, sock, src.wan ?? none, links.get(src.address));
    sock.on('data', toDst);
    pipe.on('data', toSrc);
    sock.on('end', toDst.end);
    pipe.on('end', toSrc.end);
    for (const s of [sock, pipe]) s.on('error', () => closeBoth(sock, pipe));
    // Once one side is closed, the other gets 30 s to finish what is held and its FIN, then goes.
    const reap = () => setTimeout(() => closeBoth(sock, pipe), 30_000).unref();
    sock.once('close', reap);
    pipe.once('close', reap);
  };
  let pending = config.ports.length;
  for (const port of config.ports) {
    const server = createServer({ allowHalfOpen: true }, onConnection);
    server.listen(port, '0.0.0.0', () => {
      if (--pending === 0) process.stdout.write('ready\n');
    });
    server.on('error', (e) => {
      process.stderr.write(`wan-forwarder: port ${port}: ${e.message}\n`);
      process.exit(1);
    });
  }
}

function dial(sockPath, address) {
  const server = createServer({ allowHalfOpen: true }, (pipe) => {
    let head = Buffer.alloc(0);
    const onHead = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf(10);
      if (nl < 0) {
        if (head.length > MAX_HEADER) pipe.destroy();
        return;
      }
      pipe.off('data', onHead);
      pipe.pause();
      const [host, port] = head.subarray(0, nl).toString().split(' ');
      const rest = head.subarray(nl + 1);
      const out = connect({ host, port: Number(port), localAddress: address, allowHalfOpen: true });
      out.setNoDelay(true);
      out.on('connect', () => {
        if (rest.length) out.write(rest);
        pipe.pipe(out);
        out.pipe(pipe);
      });
      for (const s of [pipe, out]) s.on('error', () => closeBoth(pipe, out));
    };
    pipe.on('data', onHead);
    pipe.on('error', () => pipe.destroy());
  });
  server.listen(sockPath, () => process.stdout.write('ready\n'));
}

const [mode, a, b] = process.argv.slice(2);
if (mode === 'front' && a) front(JSON.parse(readFileSync(a, 'utf8')));
else if (mode === 'dial' && a && b) dial(a, b);
else {
  process.stderr.write('usage: wan-forwarder.mjs front CONFIG.json | dial SOCKET ADDRESS\n');
  process.exit(2);
}
