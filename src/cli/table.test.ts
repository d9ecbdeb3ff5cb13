// formatTable: alignment, the unpadded last column, and what --no-legend leaves out.
import { describe, expect, it } from 'vitest';
import { formatTable } from './table.js';

const HEAD = ['STATE', 'REFERENCE', 'DETAIL'];
const ROWS = [
  ['present', 'quay.io/a:1', 'sha256:1'],
  ['missing', 'b:2', ''],
];

describe('formatTable', () => {
  it('aligns columns under the headings; the last column is not padded, no trailing blanks', () => {
    expect(formatTable(HEAD, ROWS, { legend: true, empty: 'none' })).toBe(
      'STATE    REFERENCE    DETAIL\n' + 'present  quay.io/a:1  sha256:1\n' + 'missing  b:2\n',
    );
  });

  it('without the legend: rows only, aligned among themselves', () => {
    expect(formatTable(HEAD, ROWS, { legend: false, empty: 'none' })).toBe(
      'present  quay.io/a:1  sha256:1\n' + 'missing  b:2\n',
    );
  });

  it('no rows: the empty line with the legend, nothing without', () => {
    expect(formatTable(HEAD, [], { legend: true, empty: 'no bound images' })).toBe('no bound images\n');
    expect(formatTable(HEAD, [], { legend: false, empty: 'no bound images' })).toBe('');
  });

  it('a value with spaces stays in its column (the last column may hold anything)', () => {
    const out = formatTable(['A', 'B'], [['x y', 'p q r']], { legend: false, empty: '' });
    expect(out).toBe('x y  p q r\n');
  });
});
