// The client's engine: one bridge connection, and on each (re)connection a presence service and a
// call manager built on it. The UI reads `snapshot()` and calls the methods; nothing here is Svelte.
import { BridgeConnection, type BridgeStatus, type Hello } from '../bridge/connection.ts';
import { CallManager } from '../calls/manager.ts';
import type { CallSession, CallState, CallTimings, EndReason } from '../calls/session.ts';
import { type ContactCard, fingerprint, formatContactString } from '../contacts/contact-string.ts';
import { type Contact, ContactStore, type KeyValueStorage } from '../contacts/store.ts';
import { SelfPresence } from '../presence/self.ts';
import { PresenceService } from '../presence/service.ts';
import { PresenceTracker } from '../presence/tracker.ts';
import { BridgeOnionPort } from './onion-port.ts';

export interface ContactView {
  identity: string;
  name: string;
  /** The name, plus a short fingerprint when another contact has the same name. */
  label: string;
  fingerprint: string;
  online: boolean;
}

/** A contact offered by a link (#contact=…): shown for confirmation, stored only once confirmed. */
export interface PendingContactView {
  identity: string;
  name: string;
  fingerprint: string;
  /** Names of stored contacts called the same (the user must tell them apart by fingerprint). */
  sameName: string[];
}

export interface CallView {
  peerId: string;
  /** Contact name (told apart by short fingerprint if two share it), or "unknown caller …". */
  peerName: string;
  peerFingerprint: string;
  /** The caller is one of the contacts (else the user allowed unknown callers). */
  peerKnown: boolean;
  role: 'caller' | 'callee';
  state: CallState;
  endReason: EndReason | null;
  endDetail: string;
  since: number;
}

export interface Snapshot {
  status: BridgeStatus;
  error: string;
  notice: string;
  hello: Hello | null;
  myName: string;
  myContactString: string;
  myFingerprint: string;
  contacts: ContactView[];
  pendingContacts: PendingContactView[];
  call: CallView | null;
  tunnels: number;
  allowUnknownCallers: boolean;
}

/** Contacts a link may offer at once (each waits for the user's yes). */
export const MAX_PENDING_CONTACTS = 16;

/** First 8 hex digits of the fingerprint, as shown next to a name that is not unique. */
export function shortFingerprint(identity: string): string {
  return fingerprint(identity).slice(0, 9);
}

/** Labels that tell contacts apart: the name alone if unique, else name (short fingerprint). */
export function contactLabels(list: { identity: string; name: string }[]): Map<string, string> {
  const count = new Map<string, number>();
  for (const c of list) count.set(c.name.toLowerCase(), (count.get(c.name.toLowerCase()) ?? 0) + 1);
  return new Map(
    list.map((c) => [
      c.identity,
      (count.get(c.name.toLowerCase()) ?? 0) > 1 ? `${c.name} (${shortFingerprint(c.identity)})` : c.name,
    ]),
  );
}

/** A link is applied once per page; this bounds what it can queue for the relay's hello. */
const MAX_LINK_ACTIONS = 4;

function tokenOf(wsUrl: string): string | null {
  try {
    return new URL(wsUrl).searchParams.get('token') || null;
  } catch {
    return null;
  }
}

/** How PresenceService's errors start (see service.ts): cleared by the next announcement that works. */
const PRESENCE_ERROR = 'Could not announce';

export class VoidPhone {
  readonly contacts: ContactStore;
  /** Our presence secret and contact key (rotated when we remove a friend). */
  readonly self: SelfPresence;
  readonly conn: BridgeConnection;
  /** The bridge token this page connects with (the `token=` of the link it was opened with). */
  readonly token: string | null;
  calls: CallManager | null = null;
  onion: BridgeOnionPort | null = null;
  private presence: PresenceService | null = null;
  private tracker: PresenceTracker | null = null;
  private contactList: Contact[] = [];
  private lastCall: CallSession | null = null;
  private pending: ContactCard[] = [];
  private notice = '';
  /** What the link asked for that only a link from the user's own relay may do (see onTokenAccepted). */
  private linkActions: (() => void)[] = [];
  private readonly changeCbs = new Set<() => void>();
  private readonly callCbs = new Set<(s: CallSession) => void>();
  private readonly sessionCbs = new Set<(s: CallSession) => void>();
  myName: string;
  allowUnknownCallers: boolean;

  constructor(
    wsUrl: string,
    private readonly storage: KeyValueStorage | null,
    private readonly timings?: Partial<CallTimings>,
  ) {
    this.contacts = new ContactStore(storage);
    this.self = new SelfPresence(storage);
    this.myName = storage?.getItem('voidphone.name') ?? '';
    this.allowUnknownCallers = storage?.getItem('voidphone.allowUnknown') === 'true';
    this.contacts.subscribe((list) => {
      // A friend removed (however the UI did it): rotate our presence secret, so from our next record
      // on only the remaining friends (who get the new one in key items) can see us online.
      const kept = new Set(list.map((c) => c.identity));
      if (this.contactList.some((c) => !kept.has(c.identity))) this.self.rotate();
      this.contactList = list;
      this.changed();
    });
    this.self.onChange(() => this.changed());
    this.conn = new BridgeConnection(wsUrl);
    this.token = tokenOf(wsUrl);
    this.conn.onStatus((s, hello) => {
      if (s !== 'open' || !hello) return this.down();
      this.runLinkActions();
      this.up(hello);
    });
  }

  /**
   * Runs `action` when the relay first accepts this page's token (its hello), before presence
   * starts. The page connects with the token of the link it was opened with, so this is how we know
   * the link came from the user's own relay: another web site does not know the token (and one that
   * does already holds the bridge). Used for a link's own keys (`me=`) and contact updates.
   */
  onTokenAccepted(action: () => void): void {
    if (this.linkActions.length < MAX_LINK_ACTIONS) this.linkActions.push(action);
  }

  private runLinkActions(): void {
    const actions = this.linkActions;
    this.linkActions = [];
    for (const a of actions) a();
  }

  start(): void {
    this.conn.start();
  }

  stop(): void {
    this.down();
    this.conn.stop();
  }

  onChange(cb: () => void): () => void {
    this.changeCbs.add(cb);
    return () => this.changeCbs.delete(cb);
  }

  /** Every new call (for the audio code of issue 8: sendMedia/onMedia/onState on the session). */
  onCall(cb: (s: CallSession) => void): () => void {
    this.callCbs.add(cb);
    return () => this.callCbs.delete(cb);
  }

  /**
   * Every call session as soon as it carries traffic (an incoming one before it rings: it rings
   * after the caller's key confirmation). For the audio and cover code, whose filler must start then.
   */
  onSession(cb: (s: CallSession) => void): () => void {
    this.sessionCbs.add(cb);
    return () => this.sessionCbs.delete(cb);
  }

  get currentCall(): CallSession | null {
    return this.lastCall;
  }

  setName(name: string): void {
    this.myName = name.trim().slice(0, 64);
    this.storage?.setItem('voidphone.name', this.myName);
    this.changed();
  }

  setAllowUnknown(v: boolean): void {
    this.allowUnknownCallers = v;
    this.storage?.setItem('voidphone.allowUnknown', String(v));
    this.changed();
  }

  say(notice: string): void {
    this.notice = notice;
    this.changed();
  }

  /**
   * A contact from a link: held until the user confirms it (issue 14: any web site can link here).
   * Skipped if that very key is already a contact.
   */
  offerContact(card: ContactCard): void {
    if (this.contacts.get(card.identity) || this.pending.some((p) => p.identity === card.identity)) return;
    if (this.pending.length >= MAX_PENDING_CONTACTS) return;
    this.pending.push(card);
    this.changed();
  }

  /** The user said yes: store it (a name the user chose earlier is kept by the store). */
  confirmContact(identity: string): void {
    const card = this.pending.find((p) => p.identity === identity);
    if (!card) return;
    this.pending = this.pending.filter((p) => p !== card);
    this.contacts.add(card);
    this.changed();
  }

  dismissContact(identity: string): void {
    this.pending = this.pending.filter((p) => p.identity !== identity);
    this.changed();
  }

  dismissCall(): void {
    if (this.lastCall?.state === 'ended') this.lastCall = null;
    this.changed();
  }

  async call(identity: string): Promise<void> {
    const contact = this.contacts.get(identity);
    const where = this.tracker?.friends.get(identity);
    if (!contact || !where) return this.say('This friend is not online right now.');
    if (!this.calls) return this.say('Not connected to your relay.');
    try {
      await this.calls.call({ spki: contact.spki, host: where.host, port: where.port });
    } catch (e) {
      this.say((e as Error).message);
    }
  }

  snapshot(): Snapshot {
    const hello = this.conn.hello;
    const online = this.tracker?.friends;
    const c = this.lastCall;
    const labels = contactLabels(this.contactList);
    const peer = c ? this.contacts.get(c.peerId) : undefined;
    return {
      status: this.conn.status,
      error: this.conn.lastError,
      notice: this.notice,
      hello,
      myName: this.myName,
      myContactString: hello
        ? formatContactString(this.myName || 'friend', hello.hostkey, this.self.card())
        : '',
      myFingerprint: hello ? fingerprint(hello.identity) : '',
      contacts: this.contactList.map((k) => ({
        identity: k.identity,
        name: k.name,
        label: labels.get(k.identity) ?? k.name,
        fingerprint: fingerprint(k.identity),
        online: !!online?.has(k.identity),
      })),
      pendingContacts: this.pending.map((p) => ({
        identity: p.identity,
        name: p.name,
        fingerprint: fingerprint(p.identity),
        sameName: this.contactList
          .filter((k) => k.name.toLowerCase() === p.name.toLowerCase())
          .map((k) => labels.get(k.identity) ?? k.name),
      })),
      call: c && {
        peerId: c.peerId,
        peerName: peer ? (labels.get(c.peerId) ?? peer.name) : `unknown caller ${shortFingerprint(c.peerId)}`,
        peerFingerprint: fingerprint(c.peerId),
        peerKnown: !!peer,
        role: c.role,
        state: c.state,
        endReason: c.endReason,
        endDetail: c.endDetail,
        since: c.times[c.state] ?? Date.now(),
      },
      tunnels: this.onion?.tunnels.size ?? 0,
      allowUnknownCallers: this.allowUnknownCallers,
    };
  }

  /** Browser clock corrected to the relay's (rounds are wall-clock aligned on the relay). */
  now(): number {
    return Date.now() + (this.conn.hello?.clockOffsetMs ?? 0);
  }

  private up(hello: Hello): void {
    this.down();
    const roundMs = hello.roundSeconds * 1000;
    this.tracker = new PresenceTracker({
      roundMs: () => roundMs,
      now: () => this.now(),
      contacts: () => this.contactList,
      own: () => this.self.state,
      onKey: (id, epoch, secret) => this.contacts.updatePresenceSecret(id, epoch, secret),
      self: hello.identity,
    });
    this.tracker.onChange(() => this.changed());
    if (hello.modules.onion) {
      // A BUILD waits for the round's build slot and its READY for the boundary (build_in_slot):
      // up to a round plus the slot's lead, which is below the build timeout's double; 30 s of margin.
      this.onion = new BridgeOnionPort(this.conn, () => roundMs + 30_000);
      this.onion.onChange(() => this.changed());
      this.calls = new CallManager({
        onion: this.onion,
        sign: (d) => this.conn.sign('call', d),
        ownSpki: hello.hostkey,
        contactKey: (id) => this.contacts.get(id)?.spki,
        allowUnknownCallers: () => this.allowUnknownCallers,
        timings: this.timings,
        // The bridge signs an offer only if it is dated within seconds of the relay's clock.
        now: () => this.now(),
      });
      this.calls.onCall((s) => this.track(s));
      this.calls.onSession((s) => {
        for (const cb of [...this.sessionCbs]) cb(s);
      });
    }
    if (hello.modules.gossip && hello.onion) {
      this.presence = new PresenceService({
        conn: this.conn,
        tracker: this.tracker,
        self: () => this.self.state,
        contacts: () => this.contactList,
        onion: hello.onion,
        roundMs,
        now: () => this.now(),
        onError: (m) => this.say(m),
        onAnnounced: () => this.notice.startsWith(PRESENCE_ERROR) && this.say(''),
      });
      this.presence.start();
    } else {
      this.say('Your relay has no Gossip or Onion module: friends cannot see you online.');
    }
    this.changed();
  }

  private down(): void {
    if (this.lastCall && this.lastCall.state !== 'ended')
      this.lastCall.fail('the connection to your relay was lost');
    this.presence?.stop();
    this.calls?.stop();
    this.onion?.stop();
    this.presence = null;
    this.calls = null;
    this.onion = null;
    this.changed();
  }

  private track(s: CallSession): void {
    this.lastCall = s;
    this.notice = '';
    s.onState(() => this.changed());
    for (const cb of [...this.callCbs]) cb(s);
    this.changed();
  }

  private changed(): void {
    for (const cb of [...this.changeCbs]) cb();
  }
}
