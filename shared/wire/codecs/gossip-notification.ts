import type { GossipNotification } from '../types.ts';
import { bytesField, type Codec, Writer } from './common.ts';

// 4 message ID u16 | 6 data type u16 | 8 data
export const gossipNotification: Codec<GossipNotification> = {
  type: 502,
  encode: (m) =>
    new Writer(502, 4 + bytesField('data', m.data).length)
      .u16('messageId', m.messageId)
      .u16('dataType', m.dataType)
      .raw(m.data)
      .done(),
  decode: (r) => {
    r.minSize(8);
    const messageId = r.u16();
    return { type: 502, messageId, dataType: r.u16(), data: r.rest() };
  },
};
