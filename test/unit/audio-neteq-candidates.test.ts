// NetEq's loopback pair of peer connections (client/src/lib/audio/neteq.ts) keeps only candidates
// that stay inside the machine. Stock Chromium offers no 127.0.0.1 candidate (only with
// --allow-loopback-in-peer-connection, which the tests pass): the old filter kept nothing there and
// NetEq never played in a user's browser. Candidate lines as Chromium 12x writes them.
import { expect, it } from 'vitest';
import { localCandidatesOnly } from '../../client/src/lib/audio/neteq.ts';

const c = (addr: string, type = 'host', transport = 'udp') =>
  `a=candidate:1 1 ${transport} 2122194687 ${addr} 41481 typ ${type} generation 0 ufrag zSvK network-id 1`;
const sdp = (...cands: string[]) =>
  ['v=0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', ...cands, 'a=end-of-candidates', ''].join('\r\n');
const kept = (s: string) => s.split('\r\n').filter((l) => l.startsWith('a=candidate'));

it('keeps only loopback when the browser offers it (the tests’ flag)', () => {
  const s = sdp(c('127.0.0.1'), c('192.0.2.2'), c('::1'), c('127.0.0.1', 'host', 'tcp'), c('fd00::2'));
  expect(kept(localCandidatesOnly(s))).toEqual([c('127.0.0.1'), c('::1')]);
});

it("keeps the machine's own UDP host addresses when there is no loopback (stock Chromium)", () => {
  const s = sdp(
    c('192.0.2.2'),
    c('fd00::2'),
    c('192.0.2.2', 'host', 'tcp'),
    c('0f3e1c2a-9b7d-4c1e-8f00-1234567890ab.local'),
    c('203.0.113.7', 'srflx'),
  );
  expect(kept(localCandidatesOnly(s))).toEqual([c('192.0.2.2'), c('fd00::2')]);
  // Everything but candidate lines is untouched.
  expect(
    localCandidatesOnly(s)
      .split('\r\n')
      .filter((l) => !l.startsWith('a=candidate')),
  ).toEqual(s.split('\r\n').filter((l) => !l.startsWith('a=candidate')));
});

it('keeps nothing when only mDNS names are offered (no microphone permission)', () => {
  expect(kept(localCandidatesOnly(sdp(c('abc.local'), c('def.local'))))).toEqual([]);
});
