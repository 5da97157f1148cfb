import type { GossipNotify } from '../types.ts';
import { type Codec, Writer } from './common.ts';

// 4 reserved u16 | 6 data type u16 (size 8)
export const gossipNotify: Codec<GossipNotify> = {
  type: 501,
  encode: (m) => new Writer(501, 4).u16('reserved', 0).u16('dataType', m.dataType).done(),
  decode: (r) => {
    r.fixedSize(8).u16(); // reserved
    return { type: 501, dataType: r.u16() };
  },
};
