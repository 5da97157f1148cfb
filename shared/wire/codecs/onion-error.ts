import type { OnionError } from '../types.ts';
import { type Codec, Writer } from './common.ts';

// 4 request type u16 | 6 reserved u16 | 8 tunnel ID u32 (size 12)
export const onionError: Codec<OnionError> = {
  type: 565,
  encode: (m) =>
    new Writer(565, 8)
      .u16('requestType', m.requestType)
      .u16('reserved', 0)
      .u32('tunnelId', m.tunnelId)
      .done(),
  decode: (r) => {
    r.fixedSize(12);
    const requestType = r.u16();
    r.u16(); // reserved
    return { type: 565, requestType, tunnelId: r.u32() };
  },
};
