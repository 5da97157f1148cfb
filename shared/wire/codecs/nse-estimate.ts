import type { NseEstimate } from '../types.ts';
import { type Codec, Writer } from './common.ts';

// 4 estimate u32 | 8 deviation u32 (size 12)
export const nseEstimate: Codec<NseEstimate> = {
  type: 521,
  encode: (m) => new Writer(521, 8).u32('estimate', m.estimate).u32('deviation', m.deviation).done(),
  decode: (r) => {
    r.fixedSize(12);
    const estimate = r.u32();
    return { type: 521, estimate, deviation: r.u32() };
  },
};
