import type { DhtFailure } from '../types.ts';
import { type Codec, KEY_SIZE, keyField, Writer } from './common.ts';

// 4 key (32) (size 36)
export const dhtFailure: Codec<DhtFailure> = {
  type: 653,
  encode: (m) => new Writer(653, KEY_SIZE).raw(keyField(m.key)).done(),
  decode: (r) => ({ type: 653, key: r.fixedSize(4 + KEY_SIZE).bytesN(KEY_SIZE, 'key') }),
};
