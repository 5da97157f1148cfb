// End-to-end key agreement between the two browsers, over whatever the onion carries:
//   caller: ephemeral X25519 key eC, OFFER = callId, ts, eC, caller identity, sig_caller(offer transcript)
//   callee: ephemeral X25519 key eS, ANSWER = callId, eS, sig_callee(answer transcript)
// Both signatures are made by each side's relay hostkey through its bridge ("call" prefix), so the
// callee knows who calls and the caller knows who answered. Keys: HKDF over X25519(eC, eS), salted
// with the hash of the full transcript; one key per direction, frames sealed with ChaCha20-Poly1305
// and a 64-bit counter nonce (see frames.ts).
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { answerTranscript, type OfferFields, offerTranscript } from '../../../../shared/call-transcript.ts';
import { utf8 } from '../crypto/bytes.ts';

// The transcripts live in shared/ because the bridge reads them before it signs (sign-call.ts).
export { answerTranscript, type OfferFields, offerTranscript };

export interface EphemeralKey {
  secret: Uint8Array;
  public: Uint8Array;
}

export function newEphemeral(): EphemeralKey {
  const secret = x25519.utils.randomSecretKey();
  return { secret, public: x25519.getPublicKey(secret) };
}

export interface SessionKeys {
  /** Key for frames this side sends. */
  send: Uint8Array;
  /** Key for frames this side receives. */
  recv: Uint8Array;
}

export function deriveKeys(
  role: 'caller' | 'callee',
  own: EphemeralKey,
  peerEph: Uint8Array,
  offer: OfferFields,
  calleeEph: Uint8Array,
): SessionKeys {
  const shared = x25519.getSharedSecret(own.secret, peerEph);
  // An all-zero shared secret means a low-order peer key: refuse rather than use a known key.
  if (shared.every((b) => b === 0)) throw new Error('degenerate X25519 key');
  const salt = sha256(answerTranscript(offer, calleeEph));
  const okm = hkdf(sha256, shared, salt, utf8('VoidPhone call keys v1'), 64);
  const callerToCallee = okm.slice(0, 32);
  const calleeToCaller = okm.slice(32);
  return role === 'caller'
    ? { send: callerToCallee, recv: calleeToCaller }
    : { send: calleeToCaller, recv: callerToCallee };
}
