import type { DhtSuccess } from '../types.ts';
import { bytesField, type Codec, KEY_SIZE, keyField, Writer } from './common.ts';

// 4 key (32) | 36 value (n >= 0)
export const dhtSuccess: Codec<DhtSuccess> = {
  type: 652,
  encode: (m) =>
    new Writer(652, KEY_SIZE + bytesField('value', m.value).length).raw(keyField(m.key)).raw(m.value).done(),
  decode: (r) => {
    r.minSize(4 + KEY_SIZE);
    const key = r.bytesN(KEY_SIZE, 'key');
    return { type: 652, key, value: r.rest() };
  },
};
