// Loads the processors of worklet-main.ts into an AudioContext. The bridge's CSP allows scripts
// only from 'self', which covers worklets: so the processors ship as their own same-origin file
// (Vite's ?worker&url). A build without that file (e.g. a test bundle) falls back to a Blob URL.
import processorsUrl from './processors.worklet.ts?worker&url';
import { workletMain } from './worklet-main.ts';

/** Module text for audioWorklet.addModule via a Blob URL. */
export const WORKLET_SOURCE = `(${workletMain.toString()})();`;

let blobUrl: string | undefined;

/** Loads the processors into `ctx`; says which way worked. */
export async function loadWorklet(ctx: BaseAudioContext): Promise<'file' | 'blob'> {
  try {
    await ctx.audioWorklet.addModule(processorsUrl);
    return 'file';
  } catch {
    blobUrl ??= URL.createObjectURL(new Blob([WORKLET_SOURCE], { type: 'text/javascript' }));
    await ctx.audioWorklet.addModule(blobUrl);
    return 'blob';
  }
}
