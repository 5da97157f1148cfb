// Encode/decode of every API message (see shared/spec/api-wire-format.md). Browser-safe.

import type { Codec } from './codecs/common.ts';
import { Reader } from './codecs/common.ts';
import { dhtFailure } from './codecs/dht-failure.ts';
import { dhtGet } from './codecs/dht-get.ts';
import { dhtPut } from './codecs/dht-put.ts';
import { dhtSuccess } from './codecs/dht-success.ts';
import { gossipAnnounce } from './codecs/gossip-announce.ts';
import { gossipNotification } from './codecs/gossip-notification.ts';
import { gossipNotify } from './codecs/gossip-notify.ts';
import { gossipValidation } from './codecs/gossip-validation.ts';
import { nseEstimate } from './codecs/nse-estimate.ts';
import { nseQuery } from './codecs/nse-query.ts';
import { onionCover } from './codecs/onion-cover.ts';
import { onionError } from './codecs/onion-error.ts';
import { onionTunnelBuild } from './codecs/onion-tunnel-build.ts';
import { onionTunnelData } from './codecs/onion-tunnel-data.ts';
import { onionTunnelDestroy } from './codecs/onion-tunnel-destroy.ts';
import { onionTunnelIncoming } from './codecs/onion-tunnel-incoming.ts';
import { onionTunnelReady } from './codecs/onion-tunnel-ready.ts';
import { rpsPeer } from './codecs/rps-peer.ts';
import { rpsQuery } from './codecs/rps-query.ts';
import { WireError } from './errors.ts';
import type { ApiMessage } from './types.ts';
import { HEADER_SIZE } from './types.ts';

export type { Codec } from './codecs/common.ts';
export { Deframer } from './deframer.ts';
export * from './errors.ts';
export * from './types.ts';

const codecs: readonly Codec[] = [
  gossipAnnounce,
  gossipNotify,
  gossipNotification,
  gossipValidation,
  nseQuery,
  nseEstimate,
  rpsQuery,
  rpsPeer,
  onionTunnelBuild,
  onionTunnelReady,
  onionTunnelIncoming,
  onionTunnelDestroy,
  onionTunnelData,
  onionError,
  onionCover,
  dhtPut,
  dhtGet,
  dhtSuccess,
  dhtFailure,
];

/** type number → codec. */
const registry = new Map<number, Codec>(codecs.map((c) => [c.type, c]));

export function isKnownType(type: number): boolean {
  return registry.has(type);
}

/** Size and type from the first 4 bytes (no validation beyond length). */
export function peekHeader(bytes: Uint8Array): { size: number; type: number } {
  if (bytes.length < HEADER_SIZE)
    throw new WireError('TRUNCATED', `header needs 4 bytes, got ${bytes.length}`);
  return { size: (bytes[0]! << 8) | bytes[1]!, type: (bytes[2]! << 8) | bytes[3]! };
}

/** One whole message (header included) to bytes. Throws WireError for anything unencodable. */
export function encodeMessage(msg: ApiMessage): Uint8Array {
  const codec = registry.get(msg?.type);
  if (!codec) throw new WireError('UNKNOWN_TYPE', `cannot encode message type ${msg?.type}`);
  return codec.encode(msg);
}

/** One whole frame (header included) to a message. Byte fields are copies. Throws WireError. */
export function decodeMessage(frame: Uint8Array): ApiMessage {
  const { size, type } = peekHeader(frame);
  if (size < HEADER_SIZE) throw new WireError('SIZE_TOO_SMALL', `declared size ${size} < 4`);
  if (size !== frame.length)
    throw new WireError('SIZE_MISMATCH', `declared size ${size}, got ${frame.length}`);
  const codec = registry.get(type);
  if (!codec) throw new WireError('UNKNOWN_TYPE', `unknown message type ${type}`);
  return codec.decode(new Reader(frame));
}
