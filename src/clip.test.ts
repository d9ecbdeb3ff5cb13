import { describe, expect, test } from 'vitest';

import { clip, clipName, MAX_ECHOED, MAX_ECHOED_NAME } from './clip.js';

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

  test('clipName keeps a caller name to MAX_ECHOED_NAME code units, the cut included', () => {
    expect(clipName('x'.repeat(MAX_ECHOED_NAME))).toBe('x'.repeat(MAX_ECHOED_NAME));
    expect(clipName('x'.repeat(MAX_ECHOED_NAME + 1))).toBe(`${'x'.repeat(MAX_ECHOED_NAME - 3)}...`);
  });
});
