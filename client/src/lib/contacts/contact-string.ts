// Contact strings are parsed by the browser and made by the relay's demo: the format lives in
// shared/contact-string.ts (one copy, so the two sides can't drift).
export {
  type ContactCard,
  ContactStringError,
  cleanName,
  fingerprint,
  formatContactString,
  MAX_NAME_LENGTH,
  parseContactString,
  type PresenceCard,
} from '../../../../shared/contact-string.ts';
