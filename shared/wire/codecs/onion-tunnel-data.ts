import type { OnionTunnelData } from '../types.ts';
import { bytesField, type Codec, Writer } from './common.ts';

// 4 tunnel ID u32 | 8 data
export const onionTunnelData: Codec<OnionTunnelData> = {
  type: 564,
  encode: (m) =>
    new Writer(564, 4 + bytesField('data', m.data).length).u32('tunnelId', m.tunnelId).raw(m.data).done(),
  decode: (r) => {
    r.minSize(8);
    const tunnelId = r.u32();
    return { type: 564, tunnelId, data: r.rest() };
  },
};
