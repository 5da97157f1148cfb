import { WireError } from '../errors.ts';
import type { DhtPut } from '../types.ts';
import { bytesField, type Codec, KEY_SIZE, keyField, Writer } from './common.ts';

// 4 TTL u16 | 6 replication u8 | 7 reserved u8 | 8 key (32) | 40 value (n >= 1)
export const dhtPut: Codec<DhtPut> = {
  type: 650,
  encode: (m) => {
    const key = keyField(m.key);
    if (bytesField('value', m.value).length === 0)
      throw new WireError('EMPTY_VALUE', 'DHT PUT without a value');
    return new Writer(650, 4 + KEY_SIZE + m.value.length)
      .u16('ttl', m.ttl)
      .u8('replication', m.replication)
      .u8('reserved', 0)
      .raw(key)
      .raw(m.value)
      .done();
  },
  decode: (r) => {
    r.minSize(8 + KEY_SIZE);
    const ttl = r.u16();
    const replication = r.u8();
    r.u8(); // reserved
    const key = r.bytesN(KEY_SIZE, 'key');
    if (r.remaining === 0) throw new WireError('EMPTY_VALUE', 'DHT PUT without a value');
    return { type: 650, ttl, replication, key, value: r.rest() };
  },
};
