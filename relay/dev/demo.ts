// The demo network behind `npm start`, the e2e test and the call benchmark: N relays with known
// bridge tokens, and two client links ("alice" on relay 1, "bob" on relay 2) that already have each
// other as contacts.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { x25519 } from '@noble/curves/ed25519.js';
import { formatContactString } from '../../shared/contact-string.ts';
import { formatFragment } from '../../shared/fragment.ts';
import { loadHostkey } from '../hostkey.ts';
import { createLogger } from '../log.ts';
import { startTestnet, type Testnet } from './testnet.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** A demo user's presence secrets: its link carries them (`me=`), its friends' links the public part. */
export interface DemoUser {
  contactPriv: Uint8Array;
  secret: Uint8Array;
}

export function newDemoUser(): DemoUser {
  return { contactPriv: new Uint8Array(randomBytes(32)), secret: new Uint8Array(randomBytes(32)) };
}

/** The contact string of a demo user (the client's own format: shared/contact-string.ts). */
export function contactString(name: string, spki: Uint8Array, user: DemoUser): string {
  return formatContactString(name, spki, {
    contactKey: x25519.getPublicKey(user.contactPriv),
    secret: user.secret,
  });
}

export function clientUrl(
  http: string,
  token: string,
  name: string,
  contacts: string[],
  me?: DemoUser,
): string {
  return `http://${http}/#${formatFragment({ token, name, me, contacts })}`;
}

/** Vite build of the client; into dist/client unless `outDir` (tests build into their own folder). */
export async function buildClient(outDir?: string): Promise<void> {
  const { build } = await import('vite');
  await build({
    root: `${REPO}client`,
    configFile: `${REPO}vite.config.ts`,
    logLevel: 'warn',
    build: outDir ? { outDir, emptyOutDir: true } : undefined,
  });
}

export interface Demo {
  net: Testnet;
  alice: string;
  bob: string;
  /** A client link for relay i, named `name`, with the given relays' users as contacts. */
  link(i: number, name: string, friends: { relay: number; name: string }[]): Promise<string>;
}

/** The demo network: relays, tokens, and the two links. Used by `npm start`, the e2e test and the bench. */
export async function startDemo(
  opts: {
    relays?: number;
    roundSeconds?: number;
    set?: Record<string, string>;
    /** 'processes': every relay a process of its own, as on separate machines (default: one process). */
    mode?: 'in-process' | 'processes';
  } = {},
): Promise<Demo> {
  const relays = Math.max(6, opts.relays ?? 6);
  const tokens = Array.from({ length: relays }, () => randomBytes(18).toString('base64url'));
  const net = await startTestnet({
    relays,
    mode: opts.mode ?? 'in-process',
    set: { 'onion.round_seconds': String(opts.roundSeconds ?? 15), ...opts.set },
    setFor: (i) => ({ 'bridge.token': tokens[i]! }),
    log: createLogger('testnet', process.env.VOIDPHONE_LOG ? undefined : 'warn'),
  });
  // One user per relay, with presence secrets fixed for this run so every link agrees.
  const users = Array.from({ length: relays }, newDemoUser);
  const link = async (i: number, name: string, friends: { relay: number; name: string }[]) => {
    const cards = await Promise.all(
      friends.map(async (f) =>
        contactString(f.name, (await loadHostkey(net.relays[f.relay]!.hostkeyPath)).spkiDer, users[f.relay]!),
      ),
    );
    return clientUrl(net.relays[i]!.p2p.bridge!, tokens[i]!, name, cards, users[i]);
  };
  return {
    net,
    alice: await link(1, 'alice', [{ relay: 2, name: 'bob' }]),
    bob: await link(2, 'bob', [{ relay: 1, name: 'alice' }]),
    link,
  };
}
