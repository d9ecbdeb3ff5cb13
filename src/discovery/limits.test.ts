import { describe, expect, it } from 'vitest';

import { DEFAULT_LIMITS, resolveLimits } from './limits.js';

describe('discovery limits', () => {
  it('default to 64 KiB files, 1024 directory entries and 40 symbolic links', () => {
    expect(DEFAULT_LIMITS).toEqual({ maxFileBytes: 65536, maxDirEntries: 1024, maxSymlinkHops: 40 });
    expect(resolveLimits()).toEqual(DEFAULT_LIMITS);
  });

  it('take the values given and keep the defaults for the rest', () => {
    expect(resolveLimits({ maxFileBytes: 10 })).toEqual({ ...DEFAULT_LIMITS, maxFileBytes: 10 });
  });

  it.each([0, -1, 1.5, Number.NaN])('refuse %s', (value) => {
    expect(() => resolveLimits({ maxDirEntries: value })).toThrow(/maxDirEntries must be a positive integer/);
  });
});
