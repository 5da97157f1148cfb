// One source of truth for options (issue 16): the tables in relay/options.ts are what the README and
// docs show (rendered by `npm run docs:options`), what `init` writes as comments, and exactly the
// keys the readers ask for.
import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../relay/check.ts';
import { parseConfigText } from '../../relay/config.ts';
import { parsePorts, renderInitConfig } from '../../relay/init.ts';
import { optionDocs } from '../../relay/options-docs.ts';
import { OPTION_SECTIONS, OPTIONS } from '../../relay/options.ts';

/** Old names the readers still accept (with a warning); documented in the migration note. */
const DEPRECATED: Record<string, string[]> = { onion: ['p2p_hostname', 'p2p_port'], rps: ['advertise_ip'] };

const text = renderInitConfig({
  publicIp: '203.0.113.5',
  bindIp: '0.0.0.0',
  ports: parsePorts('6000'),
  metrics: true,
});

describe('option tables', () => {
  for (const [path, current, wanted] of optionDocs()) {
    it(`${path} shows the tables of relay/options.ts (else: npm run docs:options)`, () => {
      expect(current).toBe(wanted);
    });
  }

  it('the readers read exactly the documented keys of each section', async () => {
    const config = parseConfigText('/etc/voidphone/relay.ini', text);
    const { sections } = await checkConfig(config, { hostkey: false });
    expect(sections).toEqual([...OPTION_SECTIONS]);
    for (const name of OPTION_SECTIONS) {
      const documented = OPTIONS[name].flatMap((r) => r.keys);
      const read = [...config.section(name)!.used].filter((k) => !DEPRECATED[name]?.includes(k));
      expect(
        read.filter((k) => !documented.includes(k)),
        `[${name}] read, not documented`,
      ).toEqual([]);
      expect(
        documented.filter((k) => !read.includes(k)),
        `[${name}] documented, never read`,
      ).toEqual([]);
    }
  });

  it('init writes every option of every section, with its meaning and default as comments', () => {
    for (const name of OPTION_SECTIONS) {
      const body = text.split(`\n[${name}]\n`)[1]!.split('\n[')[0]!;
      for (const row of OPTIONS[name]) {
        for (const key of row.keys) expect(body, `[${name}] ${key}`).toMatch(new RegExp(`^#?${key} =`, 'm'));
        expect(body).toContain(`# ${row.meaning.replaceAll('`', '').replaceAll('**', '').split(' ')[0]}`);
      }
    }
    expect(text).toMatch(/^hostkey = hostkey\.pem$/m);
    expect(text).toMatch(
      /^\[onion\]\n(#.*\n)*api_address = 127\.0\.0\.1:6014\n(#.*\n)*p2p_address = 0\.0\.0\.0:6003\n(#.*\n)*p2p_advertise = 203\.0\.113\.5$/m,
    );
  });
});
