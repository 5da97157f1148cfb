import type { RpsQuery } from '../types.ts';
import { type Codec, Writer } from './common.ts';

// header only (size 4)
export const rpsQuery: Codec<RpsQuery> = {
  type: 540,
  encode: () => new Writer(540, 0).done(),
  decode: (r) => {
    r.fixedSize(4);
    return { type: 540 };
  },
};
