import type { DhtGet } from '../types.ts';
import { type Codec, KEY_SIZE, keyField, Writer } from './common.ts';

// 4 key (32) (size 36)
export const dhtGet: Codec<DhtGet> = {
  type: 651,
  encode: (m) => new Writer(651, KEY_SIZE).raw(keyField(m.key)).done(),
  decode: (r) => ({ type: 651, key: r.fixedSize(4 + KEY_SIZE).bytesN(KEY_SIZE, 'key') }),
};
