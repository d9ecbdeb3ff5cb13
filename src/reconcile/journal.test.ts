// Where a discovery error is said to be (job Errors subject and journal line): a path on the host.
import { describe, expect, test } from 'vitest';

import { discoveryErrorPlace } from './journal.js';

describe('discoveryErrorPlace', () => {
  test('a file inside a deployment root, root included', () => {
    const root = '/ostree/deploy/default/deploy/abc.0';
    const file = '/usr/share/containers/systemd/app.image';
    expect(discoveryErrorPlace({ root, file, line: 3, message: 'm' })).toBe(`${root}${file}`);
  });

  test('the same file in two roots is two places', () => {
    const file = '/usr/share/containers/systemd/app.image';
    const a = discoveryErrorPlace({ root: '/ostree/deploy/d/deploy/a.0', file, message: 'm' });
    const b = discoveryErrorPlace({ root: '/ostree/deploy/d/deploy/b.0', file, message: 'm' });
    expect(a).not.toBe(b);
  });

  test('the host root gives the path without a doubled slash', () => {
    expect(
      discoveryErrorPlace({ root: '/', file: '/usr/share/containers/systemd/a.image', message: 'm' }),
    ).toBe('/usr/share/containers/systemd/a.image');
  });

  test('an entry of bound-images.d without a file, and a root alone', () => {
    expect(discoveryErrorPlace({ root: '/r', entry: 'x.image', message: 'm' })).toBe(
      '/r/usr/lib/bootc/bound-images.d/x.image',
    );
    expect(discoveryErrorPlace({ root: '/r', message: 'unreadable' })).toBe('/r');
  });
});
