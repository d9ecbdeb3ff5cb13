// The files shipped beside the code must agree with the key table (KEY_SPECS): config/config.ini
// (installed as /etc/bound-imaged/config.ini) and docs/configuration.md.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parseConfig } from './parse.js';
import { CONFIG_KEYS, defaultConfig, KEY_SPECS } from './schema.js';

const SHIPPED_INI = fileURLToPath(new URL('../../config/config.ini', import.meta.url));
const DOCS = fileURLToPath(new URL('../../docs/configuration.md', import.meta.url));

/** `#key = value` lines (no space after `#`) are the commented-out defaults. */
const COMMENTED_KEY = /^#([a-z][a-z-]*\s*=.*)$/;

describe('config/config.ini', () => {
  const text = readFileSync(SHIPPED_INI, 'utf8');

  test('parses to exactly defaultConfig()', () => {
    expect(parseConfig(text, SHIPPED_INI)).toEqual({ ...defaultConfig(), file: SHIPPED_INI });
  });

  test('shows every key once, commented out, with its default', () => {
    const lines = text.split('\n');
    const shown = lines.filter((l) => COMMENTED_KEY.test(l)).map((l) => l.slice(1).split('=')[0]?.trim());
    expect(shown.sort()).toEqual(CONFIG_KEYS.map((k) => k.key).sort());
    // Uncommented, the file must still give the defaults: the values it shows are the real ones.
    const uncommented = lines.map((l) => l.replace(COMMENTED_KEY, '$1')).join('\n');
    expect(uncommented).not.toBe(text);
    expect(parseConfig(uncommented, SHIPPED_INI)).toEqual({ ...defaultConfig(), file: SHIPPED_INI });
  });
});

describe('docs/configuration.md', () => {
  const docs = readFileSync(DOCS, 'utf8');

  /** Rows `| \`key\` | \`default\` | rule | meaning |` (any padding) of the table under each "### `[section]`" heading. */
  function documentedRows(): Map<string, string[]> {
    const rows = new Map<string, string[]>();
    for (const chunk of docs.split(/^### /m).slice(1)) {
      const section = /^`\[([a-z-]+)\]`/.exec(chunk)?.[1];
      if (section === undefined) continue;
      for (const line of chunk.split('\n')) {
        const cells = /^\|\s*`([^`]+)`\s*\|\s*`([^`]*)`\s*\|\s*([^|]+?)\s*\|/.exec(line);
        if (cells !== null) rows.set(`${section}.${cells[1]}`, [cells[2] ?? '', (cells[3] ?? '').trim()]);
      }
    }
    return rows;
  }

  test('documents every key, and only existing keys, with its default and its rule', () => {
    const rows = documentedRows();
    expect([...rows.keys()].sort()).toEqual(KEY_SPECS.map((s) => `${s.section}.${s.key}`).sort());
    for (const s of KEY_SPECS) {
      expect(rows.get(`${s.section}.${s.key}`), `${s.section}.${s.key}`).toEqual([s.default, s.expects]);
    }
  });

  test('its example is a valid configuration', () => {
    const example = /```ini\n([\s\S]*?)```/.exec(docs)?.[1];
    expect(example).toBeDefined();
    const config = parseConfig(example ?? '', 'example');
    expect(config).not.toEqual({ ...defaultConfig(), file: 'example' });
  });

  test('describes roots and globs on a bootc host', () => {
    for (const phrase of [
      'Only directories count',
      'staged',
      'rollback',
      '.origin',
      '/ostree/deploy/*/deploy/*',
    ]) {
      expect(docs).toContain(phrase);
    }
  });
});
