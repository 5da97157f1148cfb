// voidphone-relay: run the configured modules, or manage hostkeys.
import { parseArgs } from 'node:util';
import { toHex } from '../shared/identity.ts';
import { ConfigError, loadConfig } from './config.ts';
import { writeNewHostkey } from './hostkey.ts';
import { createLogger } from './log.ts';
import { readHostkey, startRelay } from './relay.ts';
import { startCpuProfile } from './profile.ts';

const HELP = `voidphone-relay — a VoidPhone relay peer

Usage:
  voidphone-relay -c peer.ini [--only gossip,nse,rps,onion,dht,bridge]
      Start every module that has a section in peer.ini (restricted to --only if given).
  voidphone-relay keygen --out FILE [--bits 4096]
      Write a new RSA private key (PEM, mode 0600). Refuses to overwrite FILE.
  voidphone-relay identity -c peer.ini
      Print the relay's identity: SHA-256 of its public key (SPKI DER), 64 hex characters.

Options:
  -c, --config FILE   configuration file (INI); see README.md "Configuration"
      --only LIST     comma-separated modules to start
      --ready-json    print one JSON line on stdout once every module listens
  -h, --help          show this help

Logs go to stderr; VOIDPHONE_LOG=debug|info|warn|error sets the level.
Exit codes: 0 clean stop, 1 runtime failure, 2 usage or configuration error.`;

class UsageError extends Error {}

function fail(message: string, code: number): never {
  process.stderr.write(`voidphone-relay: ${message}\n`);
  process.exit(code);
}

async function keygen(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { out: { type: 'string' }, bits: { type: 'string' } } });
  if (!values.out) throw new UsageError('keygen needs --out FILE');
  const bits = Number(values.bits ?? 4096);
  if (![2048, 3072, 4096].includes(bits)) throw new UsageError('--bits must be 2048, 3072 or 4096');
  try {
    await writeNewHostkey(values.out, bits);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UsageError(`${values.out} exists; refusing to overwrite`);
    throw new UsageError(`cannot write ${values.out}: ${code ?? (e as Error).message}`);
  }
  process.stdout.write(`wrote ${values.out}\n`);
}

async function identity(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } } });
  if (!values.config) throw new UsageError('identity needs -c FILE');
  const hostkey = await readHostkey(loadConfig(values.config));
  process.stdout.write(`${toHex(hostkey.identity)}\n`);
}

/**
 * The bridge's client link holds its token, so it never goes to the log: it is printed here once,
 * on stdout, for the person at the terminal. A service's stdout is a log (the journal), so then it
 * is not printed: [bridge] url_file gets it instead (mode 0600), or the operator set [bridge] token.
 */
function printClientLink(modules: readonly { name: string }[]): void {
  const bridge = modules.find((m) => m.name === 'bridge') as { url?: string } | undefined;
  if (bridge?.url && process.stdout.isTTY) process.stdout.write(`Open VoidPhone: ${bridge.url}\n`);
}

async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      only: { type: 'string' },
      'ready-json': { type: 'boolean' },
    },
  });
  if (!values.config) throw new UsageError('missing -c FILE (see --help)');
  const config = loadConfig(values.config);
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const log = createLogger('relay');
  const relay = await startRelay(config, { only, log });
  for (const section of config.sections.values()) {
    const unused = section.unusedKeys();
    if (unused.length && relay.modules.some((m) => m.name === section.name)) {
      log.warn(`${config.file}: [${section.name}] unknown option(s) ignored: ${unused.join(', ')}`);
    }
  }
  log.info(
    `relay ${toHex(relay.hostkey.identity)} running ${relay.modules.map((m) => m.name).join(', ') || 'no modules'}`,
  );
  printClientLink(relay.modules);
  if (values['ready-json']) {
    const listening = Object.fromEntries(relay.modules.map((m) => [m.name, m.listening]));
    process.stdout.write(
      `${JSON.stringify({ ready: true, identity: toHex(relay.hostkey.identity), listening })}\n`,
    );
  }
  const writeProfile = await startCpuProfile(process.env.VOIDPHONE_CPU_PROFILE);
  // A relay runs until it is told to stop, even if its modules hold no handle at the moment.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: stopping`);
    clearInterval(keepAlive);
    await relay.stop();
    await writeProfile();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('-h') || argv.includes('--help') || argv.length === 0) {
    process.stdout.write(`${HELP}\n`);
    if (argv.length === 0) process.exit(2);
    return;
  }
  const [cmd, ...rest] = argv;
  if (cmd === 'keygen') return keygen(rest);
  if (cmd === 'identity') return identity(rest);
  return run(argv);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof ConfigError || e instanceof UsageError) fail(e.message, 2);
  const code = (e as { code?: string }).code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    fail(`${(e as Error).message} (see --help)`, 2);
  }
  if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') fail((e as Error).message, 1);
  fail(`fatal: ${(e as Error).stack ?? e}`, 1);
});
