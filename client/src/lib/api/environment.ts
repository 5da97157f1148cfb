// What the page needs from the browser, checked at start (issue 16). Over plain http from any
// address but this machine's own (localhost, 127.0.0.0/8), a browser gives the page no "secure
// context": no microphone, no AudioWorklet, no WebCodecs, no crypto.subtle. Without a check the
// client would simply show nobody online; with it, the person reads why and what to do.

export interface BrowserLacks {
  secureContext: boolean;
  /** Plain names of the missing APIs. */
  missing: string[];
}

type Env = {
  isSecureContext?: boolean;
  navigator?: { mediaDevices?: { getUserMedia?: unknown } };
  AudioWorkletNode?: unknown;
  AudioEncoder?: unknown;
  AudioDecoder?: unknown;
  crypto?: { subtle?: unknown };
};

/** Null when everything is there; else what is missing. */
export function checkBrowser(env: Env = globalThis as Env): BrowserLacks | null {
  const missing: string[] = [];
  if (typeof env.navigator?.mediaDevices?.getUserMedia !== 'function')
    missing.push('microphone (getUserMedia)');
  if (typeof env.AudioWorkletNode !== 'function') missing.push('audio processing (AudioWorklet)');
  if (typeof env.AudioEncoder !== 'function' || typeof env.AudioDecoder !== 'function')
    missing.push('voice codec (WebCodecs)');
  if (!env.crypto?.subtle) missing.push('encryption (crypto.subtle)');
  const secureContext = env.isSecureContext === true;
  return secureContext && missing.length === 0 ? null : { secureContext, missing };
}
