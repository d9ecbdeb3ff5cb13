import { describe, expect, it } from 'vitest';

import { QuadletError } from './quadlet-error.js';
import type { UnitEntry } from './unit-file.js';
import { expandSpecifiers, readValue, unquote } from './unit-value.js';

const at: UnitEntry = { section: 'Image', key: 'Image', value: '', file: '/a.image', line: 7 };

function entry(value: string): UnitEntry {
  return { ...at, value };
}

describe('expandSpecifiers (bootc rule)', () => {
  it('leaves values without % alone', () => {
    expect(expandSpecifiers('quay.io/foo/foo:latest', at)).toBe('quay.io/foo/foo:latest');
  });

  it.each([
    ['quay.io/foo/%%foo:latest', 'quay.io/foo/%foo:latest'],
    ['quay.io/foo/%%foo:%%latest', 'quay.io/foo/%foo:%latest'],
    ['%%quay.io/foo/foo:latest%%', '%quay.io/foo/foo:latest%'],
    ['quay.io/foo/%%%%foo:latest', 'quay.io/foo/%%foo:latest'],
  ])('turns %%%% into %% in %s', (input, output) => {
    expect(expandSpecifiers(input, at)).toBe(output);
  });

  it.each([
    'quay.io/foo/%foo:latest',
    'quay.io/foo/%%%foo:latest',
    'quay.io/foo/%f%ooo:latest',
    '%fquay.io/foo/foo:latest',
    'quay.io/foo/foo:latest%f',
    'quay.io/foo/foo:latest%',
  ])('refuses any other specifier in %s, naming file and line', (input) => {
    expect(() => expandSpecifiers(input, at)).toThrow(QuadletError);
    try {
      expandSpecifiers(input, at);
    } catch (error) {
      expect(error).toMatchObject({ file: '/a.image', line: 7 });
      expect((error as Error).message).toMatch(/not supported in bound images/);
    }
  });
});

describe('unquote', () => {
  it('removes one pair of surrounding double quotes', () => {
    expect(unquote('"quay.io/a/b"', at)).toBe('quay.io/a/b');
    expect(unquote('""', at)).toBe('');
  });

  it('keeps unbalanced or inner quotes and backslashes as written', () => {
    expect(unquote('"quay.io/a', at)).toBe('"quay.io/a');
    expect(unquote('a"b"', at)).toBe('a"b"');
    expect(unquote('"a\\x2fb"', at)).toBe('a\\x2fb');
  });

  it('refuses single-quoted values, which systemd and Quadlet read differently', () => {
    expect(() => unquote("'quay.io/a'", at)).toThrow(/single quotes/);
  });
});

describe('readValue', () => {
  it('unquotes, then expands %%', () => {
    expect(readValue(entry('"quay.io/a%%b"'))).toBe('quay.io/a%b');
  });

  it('refuses a specifier inside quotes', () => {
    expect(() => readValue(entry('"quay.io/%n"'))).toThrow(QuadletError);
  });
});
