// Entry point: read the fragment (#token=…&name=…&contact=…), start the engine and the audio that
// rides on its calls, mount the UI. The token lives in the fragment so it never reaches a server
// log or a Referer header.
import { mount } from 'svelte';
import App from './App.svelte';
import { checkBrowser } from './lib/api/environment.ts';
import { applyFragment } from './lib/api/fragment.ts';
import { VoidPhone } from './lib/api/voidphone.ts';
import { CallAudio } from './lib/audio/index.ts';

const params = new URLSearchParams(location.hash.slice(1));
const token = params.get('token') ?? '';
// wss when the page came over https (a bridge with tls_cert/tls_key): same origin, same protection.
const wsScheme = location.protocol === 'https:' ? 'wss' : 'ws';
const vp = new VoidPhone(
  `${wsScheme}://${location.host}/ws?token=${encodeURIComponent(token)}`,
  localStorage,
);
applyFragment(vp, params);
// Voice on every connected call; ONION COVER at a call's rate and size whenever no voice runs and
// the onion allows it (no BUILD unanswered, no READY tunnel held: spec 4.6.7).
const audio = new CallAudio({
  // Sessions, not rings: an incoming call's tunnel carries call traffic from the answer on.
  onCall: (cb) => vp.onSession(cb),
  sendCover: (coverSize) => vp.conn.send({ type: 566, coverSize }),
  coverAllowed: () => vp.conn.status === 'open' && !!vp.onion?.coverAllowed(),
});
// The e2e tests and the benchmarks reach the engine and the audio here.
const g = globalThis as { voidphone?: VoidPhone; voidphoneAudio?: CallAudio };
g.voidphone = vp;
g.voidphoneAudio = audio;
// Without a secure context and the APIs a call needs, connecting would only show nobody online:
// the page explains instead (App.svelte) and does not start.
const lacks = checkBrowser();
if (token && !lacks) vp.start();
mount(App, { target: document.getElementById('app')!, props: { vp, audio, hasToken: !!token, lacks } });
