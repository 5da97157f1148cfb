// RPS module entry point (spec 4.5): uniformly random live peers via Brahms. See service.ts and
// docs/rps-protocol.md.
import type { ModuleFactory } from '../module.ts';
import { readRpsOptions } from './config.ts';
import { startRps } from './service.ts';

export const create: ModuleFactory = (ctx) =>
  startRps({ opts: readRpsOptions(ctx.config), hostkey: ctx.hostkey, log: ctx.log });
