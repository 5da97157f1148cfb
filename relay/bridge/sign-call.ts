// What the bridge agrees to sign for a call (purpose "call"), so that a token holder cannot stock
// up signatures to use later (issue 14): the hostkey vouches only for what makes sense now.
//   - an offer transcript: from this relay (caller = our identity), dated within OFFER_SKEW_MS of
//     our clock. A pre-signed offer for later would let whoever held the token impersonate the
//     user to every friend after the token is gone.
//   - an answer transcript: only for an offer this bridge delivered to this browser (it passes
//     through us as ONION TUNNEL DATA on an incoming tunnel), at most once, within OFFER_MEMORY_MS.
//     The bridge sees every byte it hands the browser, so this needs no help from the page.
// Anything else is refused. Layouts: shared/call-transcript.ts (the page builds the same bytes).
import { offerFieldsOfFrame, offerTranscript, parseCallTranscript } from '../../shared/call-transcript.ts';

/** An offer must be dated this close to the relay's clock (the page dates it with the relay's). */
export const OFFER_SKEW_MS = 30_000;
/** A delivered offer may be answered this long after it arrived (the callee's own age limit is 120 s). */
export const OFFER_MEMORY_MS = 120_000;
/** Delivered offers remembered per browser; the oldest is forgotten first. */
export const MAX_DELIVERED_OFFERS = 256;

export class CallSignPolicy {
  /** Offer transcript (hex) -> when it was delivered. Map order = delivery order. */
  private readonly delivered = new Map<string, number>();

  constructor(
    private readonly identity: Uint8Array,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every ONION TUNNEL DATA payload on its way to the browser: remembers the OFFERs among them. */
  sawTunnelData(data: Uint8Array): void {
    const fields = offerFieldsOfFrame(data, this.identity);
    if (!fields) return;
    let key: string;
    try {
      key = Buffer.from(offerTranscript(fields)).toString('hex');
    } catch {
      return; // a timestamp beyond 2^53: no transcript the page could build either
    }
    if (this.delivered.has(key)) return; // the caller resends its offer; keep the first arrival
    if (this.delivered.size >= MAX_DELIVERED_OFFERS)
      this.delivered.delete(this.delivered.keys().next().value!);
    this.delivered.set(key, this.now());
  }

  /** Null if `data` may be signed for purpose "call", else why not (for the log; never secret). */
  check(data: Uint8Array): string | null {
    const t = parseCallTranscript(data);
    if (!t) return 'not a call transcript';
    const own = (id: Uint8Array) => Buffer.from(id).equals(Buffer.from(this.identity));
    if (t.kind === 'offer') {
      if (!own(t.fields.callerIdentity)) return 'offer for another caller';
      const skew = t.fields.timestamp - this.now();
      if (Math.abs(skew) > OFFER_SKEW_MS) return `offer dated ${Math.round(skew / 1000)} s from now`;
      return null;
    }
    if (!own(t.fields.calleeIdentity)) return 'answer for another callee';
    const key = Buffer.from(t.offer).toString('hex');
    const at = this.delivered.get(key);
    if (at === undefined) return 'answer to an offer this relay did not deliver';
    this.delivered.delete(key); // one answer per offer
    if (this.now() - at > OFFER_MEMORY_MS) return 'answer to an offer delivered too long ago';
    return null;
  }
}
