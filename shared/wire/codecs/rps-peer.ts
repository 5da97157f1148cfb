import { WireError } from '../errors.ts';
import type { PortMapEntry, RpsPeer } from '../types.ts';
import { type Codec, hostkeyField, ipField, type Reader, readHostkey, readIp, Writer } from './common.ts';

// 4 port u16 | 6 #portmap u8 | 7 bits 7..1 reserved, bit 0 = V (1 IPv6)
// 8 k × (module u16, port u16) | IP (4 or 16) | hostkey (rest, DER)
export const rpsPeer: Codec<RpsPeer> = {
  type: 541,
  encode: (m) => {
    const ip = ipField(m.address);
    const hostkey = hostkeyField(m.hostkey);
    if (!Array.isArray(m.portmap) || m.portmap.length > 0xff) {
      throw new WireError('BAD_FIELD', 'portmap must be an array of at most 255 entries');
    }
    const w = new Writer(541, 4 + 4 * m.portmap.length + ip.bytes.length + hostkey.length)
      .u16('port', m.port)
      .u8('#portmap', m.portmap.length)
      .u8('flags', ip.v6);
    for (const e of m.portmap) w.u16('portmap.module', e.module).u16('portmap.port', e.port);
    return w.raw(ip.bytes).raw(hostkey).done();
  },
  decode: (r: Reader) => {
    r.minSize(8);
    const port = r.u16();
    const k = r.u8();
    const v6 = (r.u8() & 1) === 1;
    const portmap: PortMapEntry[] = [];
    for (let i = 0; i < k; i++) {
      portmap.push({ module: r.u16(`portmap[${i}]`), port: r.u16(`portmap[${i}]`) });
    }
    const address = readIp(r, v6);
    return { type: 541, port, portmap, address, hostkey: readHostkey(r) };
  },
};
