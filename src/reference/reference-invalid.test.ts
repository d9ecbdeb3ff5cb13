// Invalid references: each must throw ReferenceError whose message names the input and says why.
// Cases marked [ref] are from github.com/distribution/reference reference_test.go (TestReferenceParse),
// [norm] from its normalize_test.go (TestValidateReferenceName, TestValidateRemoteName,
// TestInvalidReferenceComponents), [ours] are this project's own.
import { describe, expect, test } from 'vitest';
import { ReferenceError, normalizeReference, parseNormalizedReference } from './reference.js';

const F64 = 'f'.repeat(64);
const HEX64 = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';
const LOWER = 'repository name must be lowercase';
const EDGES = 'must start and end with a lowercase letter or digit';
const SEPARATOR = 'invalid separator';
const EMPTY_COMPONENT = 'empty component';
const NEEDS_PATH = 'must be followed by a repository path';

/** [input, a substring the reason must contain]. */
const INVALID: [string, string][] = [
  // [ref] TestReferenceParse
  ['', 'reference is empty'],
  [':justtag', 'repository name is empty'],
  [`@sha256:${F64}`, 'repository name is empty'],
  [`repo@sha256:${'f'.repeat(34)}`, 'sha256 digest must have 64 hexadecimal characters (got 34)'],
  [`validname@invaliddigest:${F64}`, 'unsupported digest algorithm "invaliddigest"'],
  ['Uppercase:tag', LOWER],
  ['test:5000/Uppercase/lowercase:tag', LOWER],
  [`domain/${'a'.repeat(256)}:tag`, 'repository name must not be more than 255 characters (got 263)'],
  ['aa/asdf$$^/aa', 'path component "asdf$$^" may contain only lowercase letters, digits'],
  ['[2001:db8::1]', NEEDS_PATH],
  ['[2001:db8::1]:5000', NEEDS_PATH],
  ['[2001:db8::1]:tag', NEEDS_PATH],
  ['[fe80::1%eth0]:5000/repo', 'IPv6 zone identifiers'],
  ['[fe80::1%@invalidzone]:5000/repo', '"@" may only introduce the digest'],
  // [norm] TestValidateReferenceName
  ['https://github.com/docker/docker', 'URL scheme'],
  ['docker/Docker', LOWER],
  ['-docker', EDGES],
  ['-docker/docker', EDGES],
  ['-docker.io/docker/docker', 'host label "-docker" may contain only letters, digits and inner hyphens'],
  ['docker///docker', EMPTY_COMPONENT],
  ['docker.io/docker/Docker', LOWER],
  ['docker.io/docker///docker', EMPTY_COMPONENT],
  ['[fc00::1]', NEEDS_PATH],
  ['[fc00::1]:5000', NEEDS_PATH],
  ['fc00::1:5000/debian', 'must be enclosed in square brackets'],
  ['[fe80::1%eth0]:5000/debian', 'IPv6 zone identifiers'],
  ['[2001:db8:3:4::192.0.2.33]:5000/debian', 'no embedded IPv4'],
  [HEX64, 'cannot specify 64-byte hexadecimal strings'],
  // [norm] TestValidateRemoteName
  ['docker-/docker', EDGES],
  ['-docker-/docker', EDGES],
  ['____/____', EDGES],
  ['_docker/_docker', EDGES],
  // (a "." makes the first component a registry, so these fail as host names)
  ['dock..er/docker', 'registry "dock..er": host name has an empty label'],
  ['dock_.er/docker', 'host label "dock_" may contain only letters, digits and inner hyphens'],
  ['dock-.er/docker', 'host label "dock-"'],
  ['docker/', EMPTY_COMPONENT],
  [
    `${'this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_'.repeat(4)}x/docker`,
    'not be more than 255',
  ],
  // [norm] TestInvalidReferenceComponents
  ['busybox:-foo', 'tag "-foo" must not start with "." or "-"'],
  ['busybox@foo', 'digest "foo" must have the form "algorithm:hex"'],
  // [ours] whitespace and empty parts
  [' nginx', 'leading or trailing whitespace'],
  ['nginx ', 'leading or trailing whitespace'],
  ['\tnginx', 'leading or trailing whitespace'],
  ['nginx\n', 'leading or trailing whitespace'],
  ['ngi nx', 'path component "ngi nx" may contain only'],
  ['nginx:', 'tag after ":" is empty'],
  ['nginx@', 'digest after "@" is empty'],
  ['/nginx', EMPTY_COMPONENT],
  ['docker.io/', EMPTY_COMPONENT],
  ['quay.io//a', EMPTY_COMPONENT],
  // [ours] the same separators inside a repository path
  ['docker/dock..er', SEPARATOR],
  ['docker/dock_.er', SEPARATOR],
  ['docker/dock-.er', SEPARATOR],
  ['docker/dock___er', SEPARATOR],
  // [ours] case
  ['Nginx', LOWER],
  ['quay.io/Org/app', LOWER],
  ['Foo_bar/baz', LOWER], // taken as a registry for its capitals, but no valid host: meant as a name
  // [ours] tags
  [`nginx:${'a'.repeat(129)}`, 'tag must not be more than 128 characters (got 129)'],
  ['nginx:.hidden', 'must not start with "." or "-"'],
  ['nginx:1+2', 'tag "1+2" may contain only ASCII letters, digits'],
  ['nginx:a:b', 'tag "a:b" may contain only'],
  // [ours] digests
  [`nginx@sha256:${'A'.repeat(64)}`, 'sha256 digest must be lowercase hexadecimal'],
  [`nginx@sha256:${'g'.repeat(64)}`, 'sha256 digest must be hexadecimal'],
  [`nginx@sha256:${'a'.repeat(65)}`, 'must have 64 hexadecimal characters (got 65)'],
  ['nginx@sha256:', 'must have 64 hexadecimal characters (got 0)'],
  [`nginx@sha384:${'a'.repeat(64)}`, 'sha384 digest must have 96 hexadecimal characters (got 64)'],
  [`nginx@sha512:${'a'.repeat(96)}`, 'sha512 digest must have 128 hexadecimal characters (got 96)'],
  [`nginx@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm "md5"'],
  [`nginx@1sha:${F64}`, 'digest algorithm "1sha" is malformed'],
  [`nginx@sha256:${F64}@sha256:${F64}`, 'more than one "@"'],
  // [ours] registries
  ['localhost:abc/x', 'port "abc" must be a decimal number'],
  ['127.0.0.1:/x', 'port after ":" is empty'],
  [':5000/x', 'host name is empty'],
  ['a..b/x', 'empty label'],
  ['.example.com/x', 'empty label'],
  ['exa_mple.com/x', 'host label "exa_mple"'],
  ['[::1/x', 'missing its closing "]"'],
  ['[::1]x/y', 'unexpected "x" after "]"'],
];

describe('parseNormalizedReference: invalid inputs', () => {
  test.each(INVALID)('%j', (input, reason) => {
    let caught: unknown;
    try {
      parseNormalizedReference(input);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ReferenceError);
    const err = caught as ReferenceError;
    expect(err.input).toBe(input);
    expect(err.reason).toContain(reason);
    expect(err.message).toContain(reason);
    expect(err.message.startsWith(`invalid reference ${JSON.stringify(input).slice(0, 40)}`)).toBe(true);
    expect(() => normalizeReference(input)).toThrow(ReferenceError);
  });

  test('has at least 50 table cases', () => {
    expect(INVALID.length).toBeGreaterThanOrEqual(50);
  });

  test('message format names the input', () => {
    expect(() => parseNormalizedReference('Nginx')).toThrow(
      'invalid reference "Nginx": repository name must be lowercase',
    );
  });

  test('a long input is cut in the message but kept whole on the error', () => {
    const input = `${'a'.repeat(300)}:${'b'.repeat(200)}`;
    try {
      parseNormalizedReference(input);
      expect.unreachable();
    } catch (e) {
      const err = e as ReferenceError;
      expect(err.input).toBe(input);
      expect(err.message.length).toBeLessThan(400);
      expect(err.message).toContain('…');
    }
  });

  test('a non-string is refused with its type', () => {
    expect(() => parseNormalizedReference(42 as unknown as string)).toThrow('expected a string, got number');
  });

  test('pathological input is rejected quickly (no regex backtracking blow-up)', () => {
    const start = performance.now();
    for (const input of [`a${'-'.repeat(50_000)}!`, `${'a.'.repeat(30_000)}!/x`, `x:${'a'.repeat(60_000)}`]) {
      expect(() => parseNormalizedReference(input)).toThrow(ReferenceError);
    }
    expect(performance.now() - start).toBeLessThan(1000);
  });
});
