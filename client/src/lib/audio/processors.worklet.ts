// Entry of the AudioWorklet file (bundled by Vite through `?worker&url`, see worklet.ts).
import { workletMain } from './worklet-main.ts';

workletMain();
