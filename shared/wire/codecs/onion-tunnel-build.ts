import type { OnionTunnelBuild } from '../types.ts';
import { type Codec, hostkeyField, ipField, readHostkey, readIp, Writer } from './common.ts';

// 4 bits 15..1 reserved, bit 0 = V (1 IPv6) | 6 port u16 | 8 IP (4 or 16) | hostkey (rest, DER)
export const onionTunnelBuild: Codec<OnionTunnelBuild> = {
  type: 560,
  encode: (m) => {
    const ip = ipField(m.address);
    const hostkey = hostkeyField(m.hostkey);
    return new Writer(560, 4 + ip.bytes.length + hostkey.length)
      .u16('flags', ip.v6)
      .u16('port', m.port)
      .raw(ip.bytes)
      .raw(hostkey)
      .done();
  },
  decode: (r) => {
    r.minSize(8);
    const v6 = (r.u16() & 1) === 1;
    const port = r.u16();
    const address = readIp(r, v6);
    return { type: 560, port, address, hostkey: readHostkey(r) };
  },
};
