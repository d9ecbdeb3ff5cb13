// The line scan must see the same sections and keys as ini@5 itself, at the lines an editor shows.
import fc from 'fast-check';
import ini from 'ini';
import { describe, expect, test } from 'vitest';
import { scanIniLines } from './ini-lines.js';

describe('scanIniLines', () => {
  test('records headers and keys with 1-based lines, skipping blanks and comments', () => {
    const text = '; c\n\n[a]\n  k = v\n# c\nflag\n[b]\nlist[] = 1\n';
    expect(scanIniLines(text)).toEqual([
      { kind: 'section', line: 3, name: 'a' },
      { kind: 'key', line: 4, section: 'a', rawKey: 'k', key: 'k', array: false, hasValue: true },
      { kind: 'key', line: 6, section: 'a', rawKey: 'flag', key: 'flag', array: false, hasValue: false },
      { kind: 'section', line: 7, name: 'b' },
      { kind: 'key', line: 8, section: 'b', rawKey: 'list[]', key: 'list', array: true, hasValue: true },
    ]);
  });

  test('CRLF, CR and LF each end one line', () => {
    const lines = scanIniLines('[a]\r\n\r\nx=1\ry=2\n\nz=3').map((e) => e.line);
    expect(lines).toEqual([1, 3, 4, 6]);
  });

  test('a line ini cannot read is reported, not dropped', () => {
    expect(scanIniLines('[a]\n=1\n')).toEqual([
      { kind: 'section', line: 1, name: 'a' },
      { kind: 'unreadable', line: 2, text: '=1' },
    ]);
  });

  test('names are read as ini reads them: trimmed, unquoted, cut at an inline comment', () => {
    const keys = scanIniLines('[ a ]\n"q" = 1\nk ; note = 2\n').flatMap((e) =>
      e.kind === 'key' ? [e.key] : e.kind === 'section' ? [`[${e.name}]`] : [],
    );
    expect(keys).toEqual(['[a]', 'q', 'k']);
  });

  // Property: for texts built from the pieces people write (and some they should not), every key
  // ini.decode stores is one the scan found in the same section, and the other way round.
  const name = fc.constantFrom('a', 'b', 'c-d', 'e_f');
  const section = fc.constantFrom('s', 't', 'u v');
  const piece = fc.oneof(
    section.map((s) => `[${s}]`),
    section.map((s) => `[ ${s} ]  `),
    fc
      .tuple(
        name,
        fc.constantFrom('=', ' = ', '=  ', '\t=\t'),
        fc.constantFrom('1', '/x', 'v ; c', '"q"', ''),
      )
      .map(([k, eq, v]) => `${k}${eq}${v}`),
    name.map((k) => `${k}[] = 1`),
    name.map((k) => `  ${k} = 2`),
    name,
    fc.constantFrom('; comment', '# comment', '   ; indented', '', '   ', '=orphan'),
  );
  const eol = fc.constantFrom('\n', '\r\n', '\r', '\n\n');
  const text = fc
    .array(fc.tuple(piece, eol), { maxLength: 14 })
    .map((parts) => parts.map(([p, e]) => p + e).join(''));

  test('finds the same (section, key) pairs as ini.decode', () => {
    fc.assert(
      fc.property(text, (body) => {
        const fromScan = new Set<string>();
        for (const e of scanIniLines(body)) {
          if (e.kind === 'key') fromScan.add(`${e.section ?? ''}\u0000${e.key}`);
          if (e.kind === 'section') fromScan.add(`${e.name}\u0000`);
        }
        const fromIni = new Set<string>();
        for (const [top, value] of Object.entries(ini.decode(body) as Record<string, unknown>)) {
          if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
            fromIni.add(`${top}\u0000`);
            for (const key of Object.keys(value)) fromIni.add(`${top}\u0000${key}`);
          } else {
            fromIni.add(`\u0000${top}`);
          }
        }
        expect([...fromScan].sort()).toEqual([...fromIni].sort());
      }),
      { numRuns: 300 },
    );
  });
});
