import type { GossipAnnounce } from '../types.ts';
import { bytesField, type Codec, Writer } from './common.ts';

// 4 TTL u8 | 5 reserved u8 | 6 data type u16 | 8 data
export const gossipAnnounce: Codec<GossipAnnounce> = {
  type: 500,
  encode: (m) =>
    new Writer(500, 4 + bytesField('data', m.data).length)
      .u8('ttl', m.ttl)
      .u8('reserved', 0)
      .u16('dataType', m.dataType)
      .raw(m.data)
      .done(),
  decode: (r) => {
    r.minSize(8);
    const ttl = r.u8();
    r.u8(); // reserved
    return { type: 500, ttl, dataType: r.u16(), data: r.rest() };
  },
};
