// `npm start`: build the browser client, start a local network of relays, and print two client
// links ("alice" on relay 1, "bob" on relay 2) that already have each other as contacts.
// Ctrl-C stops everything cleanly.
import { parseArgs } from 'node:util';
import { buildClient, startDemo } from './demo.ts';
import { createLogger } from '../log.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      relays: { type: 'string', default: '6' },
      round: { type: 'string', default: '15' },
      'no-build': { type: 'boolean' },
    },
  });
  const log = createLogger('start');
  if (!values['no-build']) {
    log.info('building the client (vite)…');
    await buildClient();
  }
  log.info(`starting ${values.relays} relays…`);
  const demo = await startDemo({ relays: Number(values.relays), roundSeconds: Number(values.round) });
  process.stdout.write(
    [
      '',
      `VoidPhone is running: ${demo.net.relays.length} relays on 127.0.0.1, rounds of ${values.round} s.`,
      'Open these two links (two browser windows), press "Add contact" on each (a contact from a link',
      'is stored only once you confirm it), then press Call next to the friend who is online:',
      '',
      `  alice: ${demo.alice}`,
      '',
      `  bob:   ${demo.bob}`,
      '',
      'Friends show as online within a round. Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log.info('stopping…');
    await demo.net.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((e: unknown) => {
  process.stderr.write(`npm start failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
