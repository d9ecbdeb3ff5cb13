// The manual pages, as man(1) shows them: scripts/build-man.sh (pandoc) builds docs/man/*.md into a
// temp dir, `man --warnings -l` renders each without a groff warning, lexgrog (what mandb indexes)
// reads its NAME line, and each page documents what the program really offers: every option that
// `bound-imaged --help` and every command and option that `bound-images … --help` prints, every key
// of the configuration table with its default.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, releaseDir } from '../../scripts/harness/cleanup.js';
import { projectRoot } from '../../scripts/harness/package-install.js';
import { run, runStatus } from '../../scripts/harness/proc.js';
import { CONFIG_KEYS } from '../../src/config/index.js';

const ROOT = projectRoot();
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const PAGES = ['bound-imaged.8', 'bound-images.1', 'bound-imaged.conf.5'];

let out: string;
const rendered = new Map<string, string>();

/** Plain text of a page as man shows it on an 80-column terminal; fails on any groff warning. */
async function render(page: string): Promise<string> {
  const r = await runStatus('man', ['--warnings', '-l', join(out, page)], {
    env: { ...process.env, MANWIDTH: '80', LANG: 'C.UTF-8', MANPAGER: 'cat', PAGER: 'cat' },
  });
  expect(r.stderr, `${page}: man's warnings`).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

/** Long options (`--name`) in a help text. */
function longOptions(text: string): string[] {
  return [...new Set([...text.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((m) => m[0]))].sort();
}

async function help(script: string, ...args: string[]): Promise<string> {
  return (await run('node', [join(ROOT, 'dist/src', script), ...args, '--help'])).stdout;
}

beforeAll(async () => {
  out = makeTempDir('man');
  await run('bash', [join(ROOT, 'scripts/build-man.sh'), out]);
  for (const page of PAGES) rendered.set(page, await render(page));
});
afterAll(() => {
  if (out) releaseDir(out);
});

describe('manual pages', () => {
  it('are built, one per source in docs/man, and only those', () => {
    const sources = readdirSync(join(ROOT, 'docs/man')).map((f) => f.replace(/\.md$/, ''));
    expect(readdirSync(out).sort()).toEqual(sources.sort());
    expect(sources.sort()).toEqual([...PAGES].sort());
  });

  it.each(PAGES)('%s: title, sections and footer as man shows them', (page) => {
    const text = rendered.get(page) ?? '';
    const [name, section] = [page.slice(0, page.lastIndexOf('.')), page.slice(page.lastIndexOf('.') + 1)];
    expect(text.split('\n')[0]).toMatch(
      new RegExp(`^${name.toUpperCase().replace('.', '\\.')}\\(${section}\\)`),
    );
    for (const heading of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'SEE ALSO']) {
      expect(text, `${page}: ${heading}`).toMatch(new RegExp(`^${heading}$`, 'm'));
    }
    expect(text).toContain(`bound-imaged ${VERSION}`);
  });

  it.each(PAGES)('%s: lexgrog (mandb, whatis, apropos) reads its NAME line', async (page) => {
    const { stdout } = await run('lexgrog', [join(out, page)]);
    const name = page.slice(0, page.lastIndexOf('.'));
    expect(stdout).toMatch(new RegExp(`: "${name.replace('.', '\\.')} - \\S`));
  });

  it('bound-imaged(8) documents every option of bound-imaged --help, the files and the exit codes', async () => {
    const text = rendered.get('bound-imaged.8') ?? '';
    const options = longOptions(await help('main.js'));
    expect(options).toContain('--check-config');
    for (const option of options) expect(text, option).toContain(option);
    for (const file of [
      '/usr/lib/bound-imaged/config.ini',
      '/etc/bound-imaged/config.ini',
      '/etc/bound-imaged/config.d/*.ini',
      '/var/lib/bound-imaged/state.json',
    ]) {
      expect(text.replace(/\s+/g, ' '), file).toContain(file);
    }
    expect(text).toMatch(/^EXIT STATUS$/m);
  });

  it('bound-images(1) documents every command and every option the help texts show', async () => {
    const text = rendered.get('bound-images.1') ?? '';
    const main = await help('cli/main.js');
    const commands = [...main.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1] ?? '');
    expect(commands).toEqual(expect.arrayContaining(['status', 'list', 'jobs', 'upgrade', 'cancel']));
    const options = new Set(longOptions(main));
    for (const command of commands) {
      expect(text, command).toMatch(new RegExp(`^ {7}${command}\\b`, 'm'));
      for (const option of longOptions(await help('cli/main.js', command))) options.add(option);
    }
    for (const option of options) expect(text, option).toContain(option);
    for (const code of ['0', '1', '2', '3', '4', '130'])
      expect(text).toMatch(new RegExp(`^ {7}${code}(\\s|$)`, 'm'));
  });

  it('bound-imaged.conf(5) documents every key with its default, under its section', () => {
    const text = (rendered.get('bound-imaged.conf.5') ?? '').replace(/\s+/g, ' ');
    for (const k of CONFIG_KEYS) {
      const at = text.indexOf(`[${k.section}] `);
      expect(at, `[${k.section}]`).toBeGreaterThan(0);
      expect(text.indexOf(`${k.key}= (default ${k.default}`, at), `${k.section}.${k.key}`).toBeGreaterThan(
        at,
      );
    }
  });
});
