import type { OnionTunnelReady } from '../types.ts';
import { type Codec, hostkeyField, readHostkey, Writer } from './common.ts';

// 4 tunnel ID u32 | 8 hostkey (rest, DER)
export const onionTunnelReady: Codec<OnionTunnelReady> = {
  type: 561,
  encode: (m) =>
    new Writer(561, 4 + hostkeyField(m.hostkey).length).u32('tunnelId', m.tunnelId).raw(m.hostkey).done(),
  decode: (r) => {
    r.minSize(8);
    const tunnelId = r.u32();
    return { type: 561, tunnelId, hostkey: readHostkey(r) };
  },
};
