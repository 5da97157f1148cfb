// The URL fragment `npm start` prints: name=alice&contact=<contact string>… (any number of contacts).
// Any web site can link here, so a contact from the fragment is only offered: the page shows it with
// its fingerprint and stores it when the user confirms (VoidPhone.offerContact).
import { parseContactString } from '../contacts/contact-string.ts';
import type { VoidPhone } from './voidphone.ts';

export function applyFragment(vp: VoidPhone, params: URLSearchParams): void {
  const name = params.get('name');
  if (name && !vp.myName) vp.setName(name);
  if (params.get('align') === '0') vp.alignToRounds = false;
  for (const c of params.getAll('contact').slice(0, 16)) {
    try {
      const card = parseContactString(c);
      vp.offerContact(card);
    } catch {
      vp.say('A contact in the link was damaged and was not added.');
    }
  }
}
