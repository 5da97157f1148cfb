// The URL fragment `npm start` prints (format: shared/fragment.ts): token, name, own presence bundle,
// contacts. Any web site can link here (issue 14), so:
//  - a new contact from the fragment is only offered: the page shows it with its fingerprint and
//    stores it when the user confirms (VoidPhone.offerContact);
//  - the link's own keys (`me=`) and new presence data for contacts we already have replace ours only
//    if the link carries the token this page connects with, and only once the relay has accepted that
//    token (VoidPhone.onTokenAccepted). A site that does not know the token cannot make the page adopt
//    a presence secret it knows; a link without it changes no secret and says so.
import { readFragment } from '../../../../shared/fragment.ts';
import type { ContactCard } from '../contacts/contact-string.ts';
import { parseContactString } from '../contacts/contact-string.ts';
import type { VoidPhone } from './voidphone.ts';

export function applyFragment(vp: VoidPhone, params: URLSearchParams): void {
  const f = readFragment(params);
  if (f.name && !vp.myName) vp.setName(f.name);
  const updates: ContactCard[] = [];
  for (const c of f.contacts) {
    try {
      const card = parseContactString(c);
      if (!vp.contacts.get(card.identity)) vp.offerContact(card);
      else if (card.presence) updates.push(card);
    } catch {
      vp.say('A contact in the link was damaged and was not added.');
    }
  }
  const me = f.me;
  if (!me) return; // without own keys a link is no new `npm start` run: known contacts stay as they are
  if (!f.token || f.token !== vp.token) {
    const changed = updates.filter((u) => presenceChanged(vp, u)).map((u) => u.name);
    vp.say(
      `This link does not carry your relay's token, so its keys were ignored` +
        (changed.length ? ` (yours, and new ones for ${changed.join(', ')}).` : '.'),
    );
    return;
  }
  // A link's own keys are adopted once; then its contacts' secrets replace older ones (a new
  // `npm start` run), while reloading the same link keeps what the user did since (names, rotations).
  vp.onTokenAccepted(() => {
    if (!vp.self.adoptLink(me)) return;
    for (const card of updates) {
      const known = vp.contacts.get(card.identity);
      if (known) vp.contacts.add({ ...card, name: known.name }); // keep a name the user chose
    }
  });
}

function presenceChanged(vp: VoidPhone, card: ContactCard): boolean {
  const p = vp.contacts.get(card.identity)?.presence;
  const q = card.presence;
  return !!q && (!p || !sameBytes(p.contactKey, q.contactKey) || !sameBytes(p.secret, q.secret));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
