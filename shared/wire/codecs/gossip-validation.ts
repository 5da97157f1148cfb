import type { GossipValidation } from '../types.ts';
import { type Codec, Writer } from './common.ts';

// 4 message ID u16 | 6 bits 15..1 reserved, bit 0 = V (1 well-formed) (size 8)
export const gossipValidation: Codec<GossipValidation> = {
  type: 503,
  encode: (m) =>
    new Writer(503, 4)
      .u16('messageId', m.messageId)
      .u16('valid', m.valid ? 1 : 0)
      .done(),
  decode: (r) => {
    r.fixedSize(8);
    const messageId = r.u16();
    return { type: 503, messageId, valid: (r.u16() & 1) === 1 };
  },
};
