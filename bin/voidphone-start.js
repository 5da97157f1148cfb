#!/usr/bin/env node
// npm start: build the web client, start a local network of relays, print the client URLs.
import { register } from 'tsx/esm/api';

register();
await import('../relay/dev/start.ts');
