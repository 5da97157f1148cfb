// The bridge and the browser must agree on the signing prefixes and the presence record layout,
// which live on both sides of the relay/client boundary.
import { describe, expect, it } from 'vitest';
import { SIGN_PREFIX as CLIENT_PREFIX } from '../../shared/sign-domains.ts';
import * as clientPresence from '../../client/src/lib/presence/record.ts';
import * as bridgePresence from '../../relay/bridge/presence-check.ts';
import { isSignPurpose, MAX_SIGN_BYTES, SIGN_PREFIX, signFor } from '../../relay/bridge/sign.ts';

describe('bridge signing domains', () => {
  it('match the client, and no prefix is a prefix of another', () => {
    expect(SIGN_PREFIX).toEqual(CLIENT_PREFIX);
    const all = Object.values(SIGN_PREFIX);
    for (const a of all) for (const b of all) if (a !== b) expect(b.startsWith(a)).toBe(false);
  });

  it('accepts only known purposes, refuses oversized data', () => {
    expect(isSignPurpose('presence')).toBe(true);
    expect(isSignPurpose('toString')).toBe(false);
    expect(isSignPurpose('__proto__')).toBe(false);
    const fake = { sign: (d: Uint8Array) => d };
    expect(() => signFor(fake, 'call', new Uint8Array(MAX_SIGN_BYTES + 1))).toThrow(RangeError);
    expect(Buffer.from(signFor(fake, 'call', Uint8Array.of(1))).toString()).toBe(`${SIGN_PREFIX.call}\u0001`);
  });

  it('presence layout agrees with the client', () => {
    expect(bridgePresence.PRESENCE_DATA_TYPE).toBe(clientPresence.PRESENCE_DATA_TYPE);
    expect(bridgePresence.PRESENCE_RECORD_BYTES).toBe(clientPresence.PRESENCE_RECORD_BYTES);
    expect(bridgePresence.PRESENCE_VERSION).toBe(clientPresence.PRESENCE_VERSION);
  });
});

describe('demo links (npm start)', () => {
  it('contact strings and fragments parse in the client, and the link carries the secrets its friends hold', async () => {
    const { contactString, clientUrl, newDemoUser } = await import('../../relay/dev/demo.ts');
    const { parseContactString } = await import('../../client/src/lib/contacts/contact-string.ts');
    const { VoidPhone } = await import('../../client/src/lib/api/voidphone.ts');
    const { applyFragment } = await import('../../client/src/lib/api/fragment.ts');
    const { getKeys } = await import('../keypool.ts');
    const { loadHostkey } = await import('../../relay/hostkey.ts');
    const key = await loadHostkey((await getKeys(1))[0]!);
    const bob = newDemoUser();
    const alice = newDemoUser();
    const card = contactString('bob & co: 2', key.spkiDer, bob);
    expect(parseContactString(card)).toMatchObject({ name: 'bob & co: 2', spki: key.spkiDer });
    expect(parseContactString(card).presence!.secret).toEqual(bob.secret);
    const url = new URL(clientUrl('127.0.0.1:8080', 'tok_en-0123456789abcdef', 'alice', [card], alice));
    const params = new URLSearchParams(url.hash.slice(1));
    expect(params.get('token')).toBe('tok_en-0123456789abcdef');
    expect(params.get('name')).toBe('alice');
    expect(params.getAll('contact')).toEqual([card]);
    const data = new Map<string, string>();
    const vp = new VoidPhone('ws://127.0.0.1:1/ws', {
      getItem: (k) => data.get(k) ?? null,
      setItem: (k, v) => void data.set(k, v),
    });
    applyFragment(vp, params);
    // The contact is offered; the link's own keys wait for the relay to accept its token, which this
    // page (connecting without it) never gets: test/integration/client-link-trust.test.ts adopts them.
    expect(vp.snapshot().pendingContacts.map((c) => c.name)).toEqual(['bob & co: 2']);
    expect(vp.self.state.secret).not.toEqual(alice.secret);
  });
});
