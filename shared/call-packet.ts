// The size of one call packet, which the browser client sends every 20 ms in every state (media,
// signalling, filler or ONION COVER) and which a relay sends as its own cover while no client sends
// any (relay/onion/service.ts relay_cover): one size on both sides, or an observer counting cells
// per message would tell a relay's cover from a page's.

/** Fixed size of every media payload: header + Opus frame + zero padding (docs/audio.md). */
export const PAYLOAD_SIZE = 80;

/**
 * Bytes of the ONION TUNNEL DATA body that carries one media payload in a call: the call layer's
 * sealed frame = magic, kind (2) + call id (8) + counter (8) + MEDIA tag (1) + payload + AEAD tag (16).
 * See client/src/lib/calls/wire.ts and frames.ts. ONION COVER asks for cover of this size.
 */
export const CALL_DATA_SIZE = 2 + 8 + 8 + 1 + PAYLOAD_SIZE + 16;
