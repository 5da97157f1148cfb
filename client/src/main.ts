// Entry point: read the fragment (#token=…&name=…&contact=…), start the engine, mount the UI.
// The token lives in the fragment so it never reaches a server log or a Referer header.
import { mount } from 'svelte';
import App from './App.svelte';
import { VoidPhone } from './lib/api/voidphone.ts';
import { applyFragment } from './lib/api/fragment.ts';

const params = new URLSearchParams(location.hash.slice(1));
const token = params.get('token') ?? '';
const vp = new VoidPhone(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`, localStorage);
applyFragment(vp, params);
// The e2e test and the audio code (issue 8) reach the engine here.
(globalThis as { voidphone?: VoidPhone }).voidphone = vp;
if (token) vp.start();
mount(App, { target: document.getElementById('app')!, props: { vp, hasToken: !!token } });
