// Domain-separation prefixes for every signature the bridge makes with the relay's hostkey.
// The bridge prepends one of these to whatever the browser asks it to sign, so a browser (or an
// attacker who got its token) can never obtain a signature valid in any other context: presence
// and call transcripts can't be confused with each other, nor with the onion module's handshakes.
// The page (client/src/lib/crypto/rsa.ts) and the bridge (relay/bridge/sign.ts) both use this file.

export type SignPurpose = 'presence' | 'call';

export const SIGN_PREFIX: Readonly<Record<SignPurpose, string>> = {
  presence: 'VoidPhone bridge signature v1: presence\0',
  call: 'VoidPhone bridge signature v1: call transcript\0',
};

/** Longest payload the bridge signs (anything we sign is a small fixed-layout record). */
export const MAX_SIGN_BYTES = 1024;
