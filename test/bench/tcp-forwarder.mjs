// One process of the onion bench's "floor" chain: a plain TCP forwarder of 240-byte cells, no crypto
// and no routing. Every connection it accepts gets its own connection to the next process (argv[2] is
// that port); cells go both ways, whole cells only, those read in one callback leave in one write.
// Run as a script it prints its listening port on stdout; the capacity part also imports
// forwardTo() to run a forwarder inside the bench process. Plain JS so that it starts without a
// TypeScript loader.
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const CELL = 240;

/** Calls onCell for each whole cell read from sock (a partial cell waits for the rest). */
function cells(sock, onCell) {
  let rest = Buffer.alloc(0);
  sock.on('data', (chunk) => {
    const d = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    let at = 0;
    for (; d.length - at >= CELL; at += CELL) onCell(d.subarray(at, at + CELL));
    rest = Buffer.from(d.subarray(at));
  });
}

/** A writer that copies each cell (as a decrypting relay would) and writes a tick's cells at once. */
function writer(sock) {
  let queue = [];
  return (cell) => {
    queue.push(Buffer.from(cell));
    if (queue.length > 1) return;
    process.nextTick(() => {
      sock.write(queue.length === 1 ? queue[0] : Buffer.concat(queue));
      queue = [];
    });
  };
}

/** A forwarder to 127.0.0.1:next; resolves with its listening server once it listens. */
export function forwardTo(next) {
  const server = createServer((up) => {
    const down = connect(next, '127.0.0.1');
    for (const s of [up, down]) {
      s.setNoDelay(true);
      s.on('error', () => {
        up.destroy();
        down.destroy();
      });
    }
    up.on('close', () => down.destroy());
    down.on('close', () => up.destroy());
    cells(up, writer(down));
    cells(down, writer(up));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await forwardTo(Number(process.argv[2]));
  console.log(server.address().port);
  // Stdin is a pipe from the bench: when the bench ends, even by a crash, so does the forwarder.
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}
