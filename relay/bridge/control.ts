// The bridge's JSON control messages from a browser (docs/bridge-protocol.md), parsed by one pure
// function that never throws: the session acts on the result, and the fuzzer (test/fuzz) feeds it
// hostile bytes directly.
import { isSignPurpose, MAX_SIGN_BYTES, type SignPurpose } from './sign.ts';

export const MAX_TEXT_BYTES = 4096;

export type Control =
  | { t: 'sign'; id: number; purpose: SignPurpose; data: Buffer }
  | { t: 'ping'; id: unknown }
  /** Close the WebSocket with this code and reason. */
  | { t: 'bad'; code: number; reason: string };

export function parseControl(text: Buffer): Control {
  if (text.length > MAX_TEXT_BYTES)
    return { t: 'bad', code: 1009, reason: `control message of ${text.length} bytes` };
  let m: { t?: unknown; id?: unknown; purpose?: unknown; data?: unknown };
  try {
    m = JSON.parse(text.toString('utf8'));
    if (!m || typeof m !== 'object') throw new Error('not an object');
  } catch (e) {
    return { t: 'bad', code: 1008, reason: `bad control message: ${(e as Error).message}` };
  }
  if (m.t === 'ping') return { t: 'ping', id: m.id };
  if (m.t !== 'sign')
    return {
      t: 'bad',
      code: 1008,
      reason: `unknown control message ${JSON.stringify(String(m.t)).slice(0, 40)}`,
    };
  const { id, purpose } = m;
  if (
    typeof id !== 'number' ||
    !Number.isSafeInteger(id) ||
    !isSignPurpose(purpose) ||
    typeof m.data !== 'string' ||
    !/^[A-Za-z0-9_-]*$/.test(m.data)
  )
    return { t: 'bad', code: 1008, reason: 'bad sign request' };
  const data = Buffer.from(m.data, 'base64url');
  if (data.length > MAX_SIGN_BYTES)
    return { t: 'bad', code: 1008, reason: `sign request of ${data.length} bytes` };
  return { t: 'sign', id, purpose, data };
}
