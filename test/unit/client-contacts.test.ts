import { describe, expect, it } from 'vitest';
import { toHex } from '../../shared/identity.ts';
import { loadHostkey } from '../../relay/hostkey.ts';
import { toBase64Url } from '../../client/src/lib/crypto/b64.ts';
import {
  cleanName,
  ContactStringError,
  fingerprint,
  formatContactString,
  parseContactString,
} from '../../client/src/lib/contacts/contact-string.ts';
import { ContactStore, type KeyValueStorage } from '../../client/src/lib/contacts/store.ts';
import { getKeys } from '../keypool.ts';

const [pemA, pemB] = await getKeys(2);
const alice = await loadHostkey(pemA!);
const bob = await loadHostkey(pemB!);
const P = { contactKey: new Uint8Array(32).fill(9), secret: new Uint8Array(32).fill(7) };

function memoryStorage(): KeyValueStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
}

describe('contact strings', () => {
  it('round-trips name and key, identity = SHA-256(SPKI)', () => {
    const s = formatContactString('Alice: from work', alice.spkiDer, P);
    const card = parseContactString(`  ${s.slice(0, 40)}\n${s.slice(40)}  `); // pasted with line breaks
    expect(card.name).toBe('Alice: from work');
    expect(card.spki).toEqual(alice.spkiDer);
    expect(card.identity).toBe(toHex(alice.identity));
    expect(card.presence).toEqual(P);
  });

  it('still reads v1 strings (old links): calls work, presence needs their v2 string', () => {
    const v1 = `voidphone:v1:${toBase64Url(alice.spkiDer)}:Alice`;
    expect(parseContactString(v1)).toMatchObject({ name: 'Alice', spki: alice.spkiDer, presence: null });
  });

  it('refuses foreign, damaged and non-RSA strings with a readable error', () => {
    const good = formatContactString('Bob', bob.spkiDer, P);
    const bad = [
      'hello',
      good.replace('voidphone:v2:', 'voidphone:v3:'),
      good.replace(`:${toBase64Url(P.secret)}:`, `:${toBase64Url(P.secret.subarray(1))}:`),
      good.replace(`:${toBase64Url(P.contactKey)}:`, '::'),
      good.replace(/:[^:]*:Bob$/, ':!!!!:Bob'),
      `voidphone:v1:${toBase64Url(new Uint8Array(100).fill(0x30))}:x`,
      `${good}:extra`,
      'voidphone:v1:',
      `${good.slice(0, -3)}%E0%A4%A`,
    ];
    for (const s of bad) expect(() => parseContactString(s), s).toThrow(ContactStringError);
  });

  it('cleans names: control characters, spaces, length', () => {
    expect(cleanName('  A\u0000li\u202ece \n\t Smith ')).toBe('Alice Smith');
    expect(cleanName('x'.repeat(500))).toHaveLength(64);
  });

  it('fingerprint is 8 groups of 4 hex digits', () => {
    expect(fingerprint(toHex(alice.identity))).toMatch(/^([0-9a-f]{4} ){7}[0-9a-f]{4}$/);
  });
});

describe('contact store', () => {
  it('adds, renames, removes and persists', () => {
    const storage = memoryStorage();
    const store = new ContactStore(storage);
    const seen: number[] = [];
    store.subscribe((l) => seen.push(l.length));
    const a = store.addFromString(formatContactString('Alice', alice.spkiDer, P));
    store.addFromString(formatContactString('Bob', bob.spkiDer, P), 'Bobby');
    store.rename(a.identity, '  Al  ');
    expect(store.list().map((c) => c.name)).toEqual(['Al', 'Bobby']);
    const again = new ContactStore(storage);
    expect(again.list().map((c) => c.name)).toEqual(['Al', 'Bobby']);
    expect(again.get(a.identity)!.spki).toEqual(alice.spkiDer);
    again.remove(a.identity);
    expect(new ContactStore(storage).list().map((c) => c.name)).toEqual(['Bobby']);
    expect(seen).toEqual([0, 1, 2, 2]);
  });

  it('re-adding a known key renames instead of duplicating', () => {
    const store = new ContactStore(memoryStorage());
    store.add(parseContactString(formatContactString('A', alice.spkiDer, P)));
    store.add(parseContactString(formatContactString('B', alice.spkiDer, P)));
    expect(store.list()).toHaveLength(1);
    expect(store.list()[0]!.name).toBe('B');
  });

  it('survives damaged storage', () => {
    const storage = memoryStorage();
    storage.setItem('voidphone.contacts.v1', '{not json');
    expect(new ContactStore(storage).list()).toEqual([]);
    storage.setItem(
      'voidphone.contacts.v1',
      JSON.stringify([
        { name: 'x', spki: 'AAAA' },
        { name: 'Bob', spki: toBase64Url(bob.spkiDer), addedAt: 1 },
        7,
        null,
      ]),
    );
    expect(new ContactStore(storage).list().map((c) => c.name)).toEqual(['Bob']);
  });
});
