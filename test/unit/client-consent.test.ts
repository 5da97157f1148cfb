import { randomBytes } from 'node:crypto';
// The engine's side of issue 14's consent rule and issue 16's secure-context check, without a browser
// (the Chromium e2e, test/e2e/contact-consent.test.ts, shows the same through the UI).
import { describe, expect, it } from 'vitest';
import { checkBrowser } from '../../client/src/lib/api/environment.ts';
import { applyFragment } from '../../client/src/lib/api/fragment.ts';
import { contactLabels, VoidPhone } from '../../client/src/lib/api/voidphone.ts';
import { formatContactString } from '../../client/src/lib/contacts/contact-string.ts';
import { loadHostkey } from '../../relay/hostkey.ts';
import { identityHex } from '../../shared/identity.ts';
import { getKeys } from '../keypool.ts';

const toB64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');

const [k1, k2] = await Promise.all((await getKeys(2)).map(loadHostkey));

function memoryStorage() {
  const m = new Map<string, string>();
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
    map: m,
  };
}

/** A presence card with fresh random keys (contact strings carry one since v2). */
function card() {
  return { contactKey: randomBytes(32), secret: randomBytes(32) };
}

describe('contacts from a link', () => {
  it('are offered, not stored, until confirmed; a declined one is forgotten', () => {
    const storage = memoryStorage();
    const vp = new VoidPhone('ws://127.0.0.1:1/ws', storage);
    const link = new URLSearchParams();
    link.append('contact', formatContactString('bob', k1!.spkiDer, card()));
    link.append('contact', formatContactString('bob', k2!.spkiDer, card()));
    applyFragment(vp, link);
    expect(vp.contacts.list()).toEqual([]);
    expect(storage.map.get('voidphone.contacts.v1') ?? '[]').toBe('[]');
    const pending = vp.snapshot().pendingContacts;
    expect(pending.map((p) => p.identity)).toEqual([identityHex(k1!.spkiDer), identityHex(k2!.spkiDer)]);
    vp.confirmContact(pending[0]!.identity);
    vp.dismissContact(pending[1]!.identity);
    expect(vp.contacts.list().map((c) => c.identity)).toEqual([identityHex(k1!.spkiDer)]);
    expect(vp.snapshot().pendingContacts).toEqual([]);
    applyFragment(vp, link); // the same link again: the stored one is not offered again
    expect(vp.snapshot().pendingContacts.map((p) => p.sameName)).toEqual([['bob']]);
  });

  it("a link's own keys are ignored unless it carries the token the page connects with", () => {
    // With a token the keys wait for the relay's hello: test/integration/client-link-trust.test.ts.
    const vp = new VoidPhone('ws://127.0.0.1:1/ws?token=the-relays-token-0123', memoryStorage());
    const before = vp.self.state.secret;
    const link = new URLSearchParams({ token: 'a-guessed-token-0123456', me: toB64u(randomBytes(64)) });
    applyFragment(vp, link);
    expect(vp.self.state.secret).toEqual(before);
    expect(vp.snapshot().notice).toMatch(/does not carry your relay's token/);
  });

  it('two contacts with one name are told apart by a short fingerprint', () => {
    const a = { identity: 'ab'.repeat(32), name: 'bob' };
    const b = { identity: 'cd'.repeat(32), name: 'Bob' };
    const c = { identity: 'ef'.repeat(32), name: 'carol' };
    expect([...contactLabels([a, b, c]).values()]).toEqual(['bob (abab abab)', 'Bob (cdcd cdcd)', 'carol']);
  });
});

describe('browser check', () => {
  const full = {
    isSecureContext: true,
    navigator: { mediaDevices: { getUserMedia: () => {} } },
    AudioWorkletNode: class {},
    AudioEncoder: class {},
    AudioDecoder: class {},
    crypto: { subtle: {} },
  };
  it('passes with a secure context and every API; names what is missing otherwise', () => {
    expect(checkBrowser(full)).toBeNull();
    // What Chromium gives a plain-http page from a non-loopback address.
    expect(
      checkBrowser({ ...full, isSecureContext: false, navigator: {}, AudioEncoder: undefined, crypto: {} }),
    ).toEqual({
      secureContext: false,
      missing: ['microphone (getUserMedia)', 'voice codec (WebCodecs)', 'encryption (crypto.subtle)'],
    });
  });
});
