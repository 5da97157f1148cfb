// Cell layouts. Everything on a link is one WIRE_CELL_SIZE-byte unit: handshake cells in the clear
// first, then AES-256-GCM sealed cells. See docs/onion-protocol.md for the byte tables.
import { TAG_SIZE } from './crypto.ts';

/** 240 bytes on the wire: at 50 cells/s that is 96 kbit/s per direction (goal <= 100). */
export const WIRE_CELL_SIZE = 240;
/** Plaintext of a sealed cell. */
export const CELL_SIZE = WIRE_CELL_SIZE - TAG_SIZE; // 224

// Sealed cell: circId u32 | command u8 | payload.
export const CIRC_ID_OFFSET = 0;
export const CMD_OFFSET = 4;
export const PAYLOAD_OFFSET = 5;
export const PAYLOAD_SIZE = CELL_SIZE - PAYLOAD_OFFSET; // 219

export const CellCmd = {
  /** Link keep-alive / padding: dropped on receipt. */
  PADDING: 0,
  CREATE: 1,
  CREATED: 2,
  RELAY: 3,
  DESTROY: 4,
  /** Link flow control (circuit 0): u32 count of cells the sender of CREDIT has processed since its last CREDIT. */
  CREDIT: 5,
} as const;

// RELAY payload: N (16-byte per-hop nonce block) | body (203), both re-encrypted at every hop.
export const N_SIZE = 16;
export const N_OFFSET = PAYLOAD_OFFSET;
export const BODY_OFFSET = N_OFFSET + N_SIZE; // 21
export const BODY_SIZE = CELL_SIZE - BODY_OFFSET; // 203

// Relay body, as the hop that recognizes it sees it:
// relay cmd u8 | message id u16 | fragment index u16 | fragment count u16 | length u8 | data | padding.
export const FRAG_HEADER = 8;
export const FRAG_DATA = BODY_SIZE - FRAG_HEADER; // 195

export const RelayCmd = {
  DATA: 1,
  COVER: 2,
  COVER_ECHO: 3,
  EXTEND: 4,
  EXTENDED: 5,
  EXTEND_FAILED: 6,
  OPEN: 7,
  OPENED: 8,
  REFUSED: 9,
  RESUME: 10,
  END: 11,
  PADDING: 12,
} as const;
export type RelayCmdValue = (typeof RelayCmd)[keyof typeof RelayCmd];
export const MAX_RELAY_CMD = 12;

/** Largest relay message we reassemble: an API DATA body (65527) plus slack. */
export const MAX_RELAY_MESSAGE = 65536;
/** Largest relay DATA an API client can be handed: ONION TUNNEL DATA is at most 65535 bytes, 8 of header. */
export const MAX_DATA = 65535 - 8;
export const MAX_FRAGMENTS = Math.ceil(MAX_RELAY_MESSAGE / FRAG_DATA);

// Handshake cells (before keys): magic "VPO1" | type u8 | index u8 | count u8 | length u8 | data.
export const HS_MAGIC = new Uint8Array([0x56, 0x50, 0x4f, 0x31]);
export const HS_HEADER = 8;
export const HS_DATA = WIRE_CELL_SIZE - HS_HEADER; // 232
export const HsType = { HELLO: 1, ACCEPT: 2 } as const;

export function newCell(circId: number, cmd: number): Uint8Array {
  const c = new Uint8Array(CELL_SIZE);
  new DataView(c.buffer).setUint32(CIRC_ID_OFFSET, circId);
  c[CMD_OFFSET] = cmd;
  return c;
}

export function cellCircId(c: Uint8Array): number {
  return ((c[0]! << 24) | (c[1]! << 16) | (c[2]! << 8) | c[3]!) >>> 0;
}

export function setCircId(c: Uint8Array, id: number): void {
  new DataView(c.buffer, c.byteOffset, c.length).setUint32(CIRC_ID_OFFSET, id);
}
