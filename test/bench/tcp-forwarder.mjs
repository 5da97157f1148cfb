// One process of the onion bench's "floor" chain: a plain TCP forwarder of 240-byte cells, no crypto
// and no routing. Every connection it accepts gets its own connection to the next process (argv[2] is
// that port); cells go both ways, whole cells only, those read in one callback leave in one write.
// Prints its listening port on stdout. Plain JS so that it starts without a TypeScript loader.
import { connect, createServer } from 'node:net';

const CELL = 240;
const next = Number(process.argv[2]);

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

const server = createServer((up) => {
  const down = connect(next, '127.0.0.1');
  for (const s of [up, down]) {
    s.setNoDelay(true);
    s.on('error', () => {
      up.destroy();
      down.destroy();
    });
  }
  cells(up, writer(down));
  cells(down, writer(up));
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
