import type { OnionTunnelDestroy } from '../types.ts';
import { type Codec, Writer } from './common.ts';

// 4 tunnel ID u32 (size 8)
export const onionTunnelDestroy: Codec<OnionTunnelDestroy> = {
  type: 563,
  encode: (m) => new Writer(563, 4).u32('tunnelId', m.tunnelId).done(),
  decode: (r) => ({ type: 563, tunnelId: r.fixedSize(8).u32() }),
};
