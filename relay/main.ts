// voidphone-relay: run the configured modules, or manage hostkeys.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { toHex } from '../shared/identity.ts';
import { checkConfig } from './check.ts';
import { ConfigError, loadConfig, parseConfigText } from './config.ts';
import { writeNewHostkey } from './hostkey.ts';
import { checkInitIp, parsePorts, renderInitConfig } from './init.ts';
import { fixYoungGeneration } from './heap.ts';
import { createLogger } from './log.ts';
import { readHostkey, startRelay } from './relay.ts';
import { startCpuProfile } from './profile.ts';

const HELP = `voidphone-relay — a VoidPhone relay peer

Usage:
  voidphone-relay -c relay.ini [--only gossip,nse,rps,onion,dht,bridge]
      Start every module that has a section in relay.ini (restricted to --only if given).
  voidphone-relay init --public-ip IP [--dir DIR] [--bind IP] [--ports BASE[,name=PORT...]] [--metrics]
      Write DIR/hostkey.pem (new RSA-4096 key, 0600) and a fully commented DIR/relay.ini.
  voidphone-relay check -c relay.ini
      Validate every section and the hostkey without starting anything.
  voidphone-relay keygen --out FILE [--bits 4096]
      Write a new RSA private key (PEM, mode 0600). Refuses to overwrite FILE.
  voidphone-relay identity -c relay.ini
      Print the relay's identity: SHA-256 of its public key (SPKI DER), 64 hex characters.
  voidphone-relay COMMAND --help   help for one command

Options:
  -c, --config FILE   configuration file (INI); see README.md "Configuration"
      --only LIST     comma-separated modules to start
      --ready-json    print one JSON line on stdout once every module listens
  -h, --help          show this help
  -V, --version       print the version

Logs go to stderr; VOIDPHONE_LOG=debug|info|warn|error sets the level. Operating a relay:
docs/operating.md.
Exit codes: 0 clean stop, 1 runtime failure, 2 usage or configuration error.`;

const COMMAND_HELP: Record<string, string> = {
  init: `voidphone-relay init --public-ip IP [--dir DIR] [--bind IP] [--ports BASE[,name=PORT...]] [--metrics]

Writes, into DIR (default: the current folder; created 0700 if missing):
  hostkey.pem   a new RSA-4096 private key, mode 0600: the relay's identity, back it up
  relay.ini     every option of every section with its meaning and default, as comments
Refuses to overwrite either file.

  --public-ip IP   the address peers reach this relay at (p2p_advertise of every section)
  --bind IP        where the P2P listeners bind (default 0.0.0.0: every interface)
  --ports SPEC     BASE (default 6000): P2P ports BASE+1..+4 (gossip, rps, onion, dht; open these),
                   loopback APIs BASE+11..+15, bridge BASE+80, metrics BASE+90; then name=PORT
                   moves one of gossip, rps, onion, dht, bridge, metrics, e.g. --ports 6000,onion=443
  --metrics        enable [metrics] (/metrics and /healthz on 127.0.0.1:BASE+90); else it is
                   written commented out
The written config is checked as \`check\` would before anything is written.`,
  check: `voidphone-relay check -c FILE

Reads every section of FILE with the same readers the relay uses at start, and the hostkey, without
opening any socket. Prints "FILE: ok (sections)" and exits 0, or prints the first error naming file,
section and key and exits 2. Deprecated and unknown options are printed as warnings (exit 0).`,
  keygen: `voidphone-relay keygen --out FILE [--bits 2048|3072|4096]

Writes a new RSA private key (PEM, mode 0600, default 4096 bits). Refuses to overwrite FILE.`,
  identity: `voidphone-relay identity -c FILE

Prints the identity of the relay configured in FILE: SHA-256 of its public key (SPKI DER), hex.`,
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return `voidphone-relay ${pkg.version}`;
}

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

async function init(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      dir: { type: 'string' },
      'public-ip': { type: 'string' },
      bind: { type: 'string' },
      ports: { type: 'string' },
      metrics: { type: 'boolean' },
    },
  });
  const publicIp = values['public-ip'];
  if (!publicIp) throw new UsageError('init needs --public-ip IP (the address peers reach this relay at)');
  const bindIp = values.bind ?? '0.0.0.0';
  let text: string;
  try {
    checkInitIp('--public-ip', publicIp);
    checkInitIp('--bind', bindIp);
    text = renderInitConfig({ publicIp, bindIp, ports: parsePorts(values.ports), metrics: values.metrics });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const dir = resolve(values.dir ?? '.');
  const ini = join(dir, 'relay.ini');
  const key = join(dir, 'hostkey.pem');
  // The same readers as `check` and start, before anything is written (e.g. a loopback --public-ip).
  await checkConfig(parseConfigText(ini, text), { hostkey: false });
  for (const f of [ini, key]) if (existsSync(f)) throw new UsageError(`${f} exists; refusing to overwrite`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await writeNewHostkey(key, 4096);
  writeFileSync(ini, text, { flag: 'wx', mode: 0o600 });
  process.stdout.write(`wrote ${key}\nwrote ${ini}\nnext: voidphone-relay check -c ${ini}\n`);
}

async function check(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } } });
  if (!values.config) throw new UsageError('check needs -c FILE');
  const config = loadConfig(values.config);
  const result = await checkConfig(config);
  for (const w of result.warnings) process.stderr.write(`voidphone-relay: warning: ${w}\n`);
  process.stdout.write(`${config.file}: ok (${result.sections.join(', ') || 'no sections'})\n`);
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
  fixYoungGeneration();
  const config = loadConfig(values.config);
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const log = createLogger('relay');
  const relay = await startRelay(config, { only, log });
  for (const w of config.warnings) log.warn(w);
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

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = { init, check, keygen, identity };

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  const help = argv.includes('-h') || argv.includes('--help');
  if (cmd && COMMANDS[cmd]) {
    if (help) return void process.stdout.write(`${COMMAND_HELP[cmd]}\n`);
    return COMMANDS[cmd](rest);
  }
  if (argv.includes('-V') || argv.includes('--version')) return void process.stdout.write(`${version()}\n`);
  if (help || argv.length === 0) {
    process.stdout.write(`${HELP}\n`);
    if (argv.length === 0) process.exit(2);
    return;
  }
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
