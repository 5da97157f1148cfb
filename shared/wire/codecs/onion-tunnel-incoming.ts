import type { OnionTunnelIncoming } from '../types.ts';
import { type Codec, Writer } from './common.ts';

// 4 tunnel ID u32 (size 8)
export const onionTunnelIncoming: Codec<OnionTunnelIncoming> = {
  type: 562,
  encode: (m) => new Writer(562, 4).u32('tunnelId', m.tunnelId).done(),
  decode: (r) => ({ type: 562, tunnelId: r.fixedSize(8).u32() }),
};
