// The URL fragment `npm start` prints (format: shared/fragment.ts): name, own presence bundle, contacts.
// Any web site can link here, so a new contact from the fragment is only offered: the page shows it
// with its fingerprint and stores it when the user confirms (VoidPhone.offerContact).
import { readFragment } from '../../../../shared/fragment.ts';
import { parseContactString } from '../contacts/contact-string.ts';
import type { VoidPhone } from './voidphone.ts';

export function applyFragment(vp: VoidPhone, params: URLSearchParams): void {
  const f = readFragment(params);
  if (f.name && !vp.myName) vp.setName(f.name);
  if (!f.align) vp.alignToRounds = false;
  // A link's own secrets are adopted once; then its contacts' secrets replace older ones (a new
  // `npm start` run), while reloading the same link keeps what the user did since (names, rotations).
  const fresh = f.me ? vp.self.adoptLink(f.me) : false;
  for (const c of f.contacts) {
    try {
      const card = parseContactString(c);
      const known = vp.contacts.get(card.identity);
      if (!known) vp.offerContact(card);
      else if (fresh && card.presence) vp.contacts.add({ ...card, name: known.name }); // keep a name the user chose
    } catch {
      vp.say('A contact in the link was damaged and was not added.');
    }
  }
}
