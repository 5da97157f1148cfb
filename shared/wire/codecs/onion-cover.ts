import type { OnionCover } from '../types.ts';
import { type Codec, Writer } from './common.ts';

// 4 cover size u16 | 6 reserved u16 (size 8)
export const onionCover: Codec<OnionCover> = {
  type: 566,
  encode: (m) => new Writer(566, 4).u16('coverSize', m.coverSize).u16('reserved', 0).done(),
  decode: (r) => ({ type: 566, coverSize: r.fixedSize(8).u16() }),
};
