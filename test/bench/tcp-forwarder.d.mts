import type { Server } from 'node:net';

/** A plain TCP cell forwarder to 127.0.0.1:next (see tcp-forwarder.mjs). */
export function forwardTo(next: number): Promise<Server>;
