import { describe, expect, it } from 'vitest';

import { QuadletError } from './quadlet-error.js';
import { lastEntry, parseUnitFile, type UnitFile } from './unit-file.js';

const F = '/usr/share/containers/systemd/a.image';

function parse(text: string): UnitFile {
  return parseUnitFile(text, F);
}

function image(text: string): string | undefined {
  return lastEntry([parse(text)], 'Image', 'Image')?.value;
}

function failure(text: string): QuadletError {
  try {
    parse(text);
  } catch (error) {
    if (error instanceof QuadletError) return error;
    throw error;
  }
  throw new Error('expected a QuadletError');
}

describe('parseUnitFile: sections and assignments', () => {
  it('reads sections and Key=Value with their line numbers and file', () => {
    const unit = parse('[Unit]\nDescription=x\n\n[Image]\nImage=quay.io/a/b\n');
    expect(unit.sections).toEqual(['Unit', 'Image']);
    expect(unit.entries).toEqual([
      { section: 'Unit', key: 'Description', value: 'x', file: F, line: 2 },
      { section: 'Image', key: 'Image', value: 'quay.io/a/b', file: F, line: 5 },
    ]);
  });

  it('trims whitespace around keys, values and section headers', () => {
    const unit = parse('  [Image]  \n\t Image \t=  \t quay.io/a/b \t \n');
    expect(unit.entries[0]).toMatchObject({ key: 'Image', value: 'quay.io/a/b' });
  });

  it('keeps "=" inside the value and splits on the first one only', () => {
    expect(image('[Image]\nImage=a=b\n')).toBe('a=b');
  });

  it('keeps keys and sections case-sensitive', () => {
    expect(image('[Image]\nimage=quay.io/a\n')).toBeUndefined();
    expect(image('[image]\nImage=quay.io/a\n')).toBeUndefined();
  });

  it('lets the last of repeated keys win, also across a repeated section', () => {
    expect(image('[Image]\nImage=one\nImage=two\n')).toBe('two');
    const unit = parse('[Image]\nImage=one\n[Unit]\nA=1\n[Image]\nImage=three\n');
    expect(unit.sections).toEqual(['Image', 'Unit']);
    expect(lastEntry([unit], 'Image', 'Image')).toMatchObject({ value: 'three', line: 6 });
  });

  it('keeps an empty value as the empty string', () => {
    expect(image('[Image]\nImage=\n')).toBe('');
  });

  it('keeps "#" and ";" inside values (systemd has no inline comments)', () => {
    expect(image('[Image]\nImage=quay.io/a # not a comment\n')).toBe('quay.io/a # not a comment');
    expect(image('[Image]\nImage=a;b\n')).toBe('a;b');
  });

  it('keeps values as strings ("true" stays text)', () => {
    expect(image('[Image]\nImage=true\n')).toBe('true');
  });

  it('keeps dots in section names as part of the name', () => {
    expect(parse('[X.d]\nA=1\n').sections).toEqual(['X.d']);
  });
});

describe('parseUnitFile: comments', () => {
  it('skips lines starting with # or ; after whitespace', () => {
    const unit = parse('# c\n; c\n   # indented\n[Image]\n\t; c\nImage=x\n');
    expect(unit.entries).toEqual([{ section: 'Image', key: 'Image', value: 'x', file: F, line: 6 }]);
  });

  it('does not continue a comment line that ends in a backslash', () => {
    expect(image('[Image]\n# comment \\\nImage=x\n')).toBe('x');
  });
});

describe('parseUnitFile: continuation lines', () => {
  it('joins a line ending in a backslash with the next, the backslash becoming a space', () => {
    const unit = parse('[Image]\nImage=quay.io/a\\\nb\nX=1\n');
    expect(unit.entries[0]).toMatchObject({ key: 'Image', value: 'quay.io/a b', line: 2 });
    expect(unit.entries[1]).toMatchObject({ key: 'X', line: 4 });
  });

  it('keeps the leading whitespace of the continued line', () => {
    expect(image('[Image]\nImage=a\\\n   b\n')).toBe('a    b');
  });

  it('joins several lines and reports the first line', () => {
    const unit = parse('[Image]\nKey=a\\\nb\\\nc\n');
    expect(unit.entries[0]).toMatchObject({ value: 'a b c', line: 2 });
  });

  it('passes over comment lines inside a continuation', () => {
    expect(image('[Image]\nImage=a\\\n# comment\n; other\n  b\n')).toBe('a   b');
  });

  it('continues a line whose backslash is followed by whitespace (Quadlet trims before looking)', () => {
    const unit = parse('[Container]\nExec=/bin/app --flag \\ \t\n  "second arg"\nImage=quay.io/a/b\n');
    expect(unit.entries.map((e) => [e.key, e.value, e.line])).toEqual([
      ['Exec', '/bin/app --flag    "second arg"', 2],
      ['Image', 'quay.io/a/b', 4],
    ]);
  });

  it('treats Unicode whitespace after the backslash as Quadlet does (Go unicode.IsSpace)', () => {
    expect(parse('[A]\nK=a\\\u00a0\u3000\nb\n').entries[0]?.value).toBe('a b');
    // U+FEFF is not whitespace for Go: the backslash is not last, the line does not continue.
    expect(() => parse('[A]\nK=a\\\ufeff\nb\n')).toThrow(/not a \[Section\] header/);
  });

  it('lets a continued line swallow a following Image= line, as Quadlet does', () => {
    const unit = parse('[Container]\nImage=quay.io/a/b\nExec=/bin/app \\ \nImage=quay.io/c/d\n');
    expect(lastEntry([unit], 'Container', 'Image')?.value).toBe('quay.io/a/b');
    expect(lastEntry([unit], 'Container', 'Exec')?.value).toBe('/bin/app  Image=quay.io/c/d');
  });

  it('continues a line ending in an escaped backslash too (Quadlet looks at the last character only)', () => {
    const unit = parse('[Image]\nKey=a\\\\\nImage=x\n');
    expect(unit.entries).toHaveLength(1);
    expect(unit.entries[0]).toMatchObject({ key: 'Key', value: 'a\\ Image=x', line: 2 });
    expect(parse('[Image]\nKey=a\\\\\\\nb\n').entries[0]?.value).toBe('a\\\\ b');
  });

  it('passes over empty and blank lines inside a continuation (Quadlet; systemd would end it)', () => {
    const unit = parse('[Image]\nKey=a\\\n\n  \t\nb\nImage=c\n');
    expect(unit.entries.map((e) => [e.key, e.value, e.line])).toEqual([
      ['Key', 'a b', 2],
      ['Image', 'c', 6],
    ]);
  });

  it('still refuses a line without "=" that no continuation reaches', () => {
    expect(() => parse('[Container]\nExec=/bin/app \\x\n  "arg"\n')).toThrow(/not a \[Section\] header/);
  });

  it('parses a continuation still open at the end of the file', () => {
    expect(image('[Image]\nImage=a\\')).toBe('a');
  });

  it('can continue a key onto the next line', () => {
    expect(image('[Image]\nIma\\\nge=x\n')).toBeUndefined();
    expect(lastEntry([parse('[Image]\nIma\\\nge=x\n')], 'Image', 'Ima ge')?.value).toBe('x');
  });
});

describe('parseUnitFile: encodings and line ends', () => {
  it('accepts CRLF, CR and LF line ends and counts lines the same', () => {
    for (const eol of ['\r\n', '\r', '\n']) {
      const unit = parse(['[Image]', '# c', 'Image=quay.io/a', ''].join(eol));
      expect(unit.entries).toEqual([
        { section: 'Image', key: 'Image', value: 'quay.io/a', file: F, line: 3 },
      ]);
    }
  });

  it('handles a continuation over CRLF lines', () => {
    expect(image('[Image]\r\nImage=a\\\r\nb\r\n')).toBe('a b');
  });

  it('skips a UTF-8 byte order mark at the start', () => {
    expect(parse('\uFEFF[Image]\nImage=x\n').sections).toEqual(['Image']);
    expect(parse('\uFEFF# c\n[Image]\nImage=x\n').entries[0]?.line).toBe(3);
  });

  it('refuses a NUL byte, with its line', () => {
    const error = failure('[Image]\nImage=a\0b\n');
    expect(error.line).toBe(2);
    expect(error.message).toContain('NUL');
  });
});

describe('parseUnitFile: errors', () => {
  it('refuses an assignment before any section, naming file and line', () => {
    const error = failure('# c\nImage=x\n[Image]\nImage=y\n');
    expect(error).toMatchObject({ file: F, line: 2 });
    expect(error.message).toBe(`${F}:2: assignment before any [Section] header: "Image=x"`);
  });

  it('refuses a line that is neither section, assignment nor comment', () => {
    expect(failure('[Image]\nImage\n')).toMatchObject({ file: F, line: 2 });
  });

  it('refuses a missing key name', () => {
    expect(failure('[Image]\n=x\n').message).toContain('missing key name');
  });

  it('refuses a section header without its closing bracket', () => {
    expect(failure('[Image\nImage=x\n')).toMatchObject({ line: 1 });
  });

  it('refuses empty or unsafe section names', () => {
    expect(failure('[]\n').line).toBe(1);
    expect(failure('[a]b]\n').line).toBe(1);
    expect(failure('[a\tb]\n').line).toBe(1);
    expect(failure('[a"b]\n').line).toBe(1);
  });

  it('echoes at most 200 characters of a long bad line; the line number names the rest', () => {
    const long = `x${'y'.repeat(65_000)}`;
    const error = failure(`[Image]\nImage=a\n${long}\n`);
    expect(error.line).toBe(3);
    expect(error.message).toContain(`"${long.slice(0, 200)}…"`);
    expect(error.message.length).toBeLessThan(400);
  });
});

describe('lastEntry', () => {
  it('lets later files (drop-ins) override earlier ones', () => {
    const main = parseUnitFile('[Image]\nImage=a\nAuthFile=/x\n', '/a.image');
    const dropIn = parseUnitFile('[Image]\nImage=b\n', '/a.image.d/10.conf');
    expect(lastEntry([main, dropIn], 'Image', 'Image')).toMatchObject({
      value: 'b',
      file: '/a.image.d/10.conf',
    });
    expect(lastEntry([main, dropIn], 'Image', 'AuthFile')).toMatchObject({ value: '/x', file: '/a.image' });
  });
});
