import type { NseQuery } from '../types.ts';
import { type Codec, Writer } from './common.ts';

// header only (size 4)
export const nseQuery: Codec<NseQuery> = {
  type: 520,
  encode: () => new Writer(520, 0).done(),
  decode: (r) => {
    r.fixedSize(4);
    return { type: 520 };
  },
};
