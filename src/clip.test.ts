import { describe, expect, test } from 'vitest';

import { clip, MAX_ECHOED } from './clip.js';

describe('clip', () => {
  test('leaves short text alone', () => {
    expect(clip('Image=quay.io/a/b:1')).toBe('Image=quay.io/a/b:1');
    expect(clip('x'.repeat(MAX_ECHOED))).toBe('x'.repeat(MAX_ECHOED));
  });

  test('cuts long text at the limit and says so', () => {
    const out = clip('x'.repeat(65_536));
    expect(out).toBe(`${'x'.repeat(MAX_ECHOED)}…`);
    expect(clip('abcdef', 3)).toBe('abc…');
  });

  test('never leaves half a surrogate pair', () => {
    const text = `${'x'.repeat(MAX_ECHOED - 1)}😀tail`;
    expect(clip(text)).toBe(`${'x'.repeat(MAX_ECHOED - 1)}…`);
    expect(Buffer.from(clip(text), 'utf8').toString('utf8')).toBe(clip(text));
  });
});
