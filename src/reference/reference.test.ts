// Valid references: parse results, normalized form, familiar name, store keys.
// Cases marked [ref] are from github.com/distribution/reference reference_test.go (TestReferenceParse),
// [norm] from its normalize_test.go (TestValidateReferenceName, TestValidateRemoteName,
// TestParseRepositoryInfo, TestNormalizedSplitHostname, TestParseDockerRef,
// TestParseReferenceWithTagAndDigest), [ours] are this project's own.
import { describe, expect, test } from 'vitest';
import {
  familiarName,
  formatReference,
  normalizeReference,
  parseNormalizedReference,
  storeKeys,
  type ImageReference,
} from './reference.js';

const F64 = 'f'.repeat(64);
const D = `sha256:${F64}`;
const REDIS = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';
const HEX64 = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';

/** [input, expected normalized string]: the parse must round-trip through formatReference. */
const VALID: [string, string][] = [
  // [ref] TestReferenceParse, read through normalization
  ['test_com', 'docker.io/library/test_com:latest'],
  ['test.com:tag', 'docker.io/library/test.com:tag'],
  ['test.com:5000', 'docker.io/library/test.com:5000'], // no "/": a tag, not a port
  ['test.com/repo:tag', 'test.com/repo:tag'],
  ['test:5000/repo', 'test:5000/repo:latest'],
  ['test:5000/repo:tag', 'test:5000/repo:tag'],
  [`test:5000/repo@${D}`, `test:5000/repo@${D}`],
  [`test:5000/repo:tag@${D}`, `test:5000/repo:tag@${D}`],
  ['lowercase:Uppercase', 'docker.io/library/lowercase:Uppercase'],
  [`${'a/'.repeat(127)}a:tag-puts-this-over-max`, `docker.io/${'a/'.repeat(127)}a:tag-puts-this-over-max`],
  ['sub-dom1.foo.com/bar/baz/quux', 'sub-dom1.foo.com/bar/baz/quux:latest'],
  ['sub-dom1.foo.com/bar/baz/quux:some-long-tag', 'sub-dom1.foo.com/bar/baz/quux:some-long-tag'],
  ['b.gcr.io/test.example.com/my-app:test.example.com', 'b.gcr.io/test.example.com/my-app:test.example.com'],
  ['xn--n3h.com/myimage:xn--n3h.com', 'xn--n3h.com/myimage:xn--n3h.com'],
  [`xn--7o8h.com/myimage:xn--7o8h.com@${D}`, `xn--7o8h.com/myimage:xn--7o8h.com@${D}`],
  ['foo_bar.com:8080', 'docker.io/library/foo_bar.com:8080'],
  ['foo/foo_bar.com:8080', 'docker.io/foo/foo_bar.com:8080'],
  ['192.168.1.1', 'docker.io/library/192.168.1.1:latest'],
  ['192.168.1.1:5000', 'docker.io/library/192.168.1.1:5000'],
  ['192.168.1.1/repo', '192.168.1.1/repo:latest'],
  ['192.168.1.1:5000/repo:5050', '192.168.1.1:5000/repo:5050'],
  ['[2001:db8::1]/repo', '[2001:db8::1]/repo:latest'],
  ['[2001:db8:1:2:3:4:5:6]/repo:tag', '[2001:db8:1:2:3:4:5:6]/repo:tag'],
  [`[2001:db8::1]:5000/repo:tag@${D}`, `[2001:db8::1]:5000/repo:tag@${D}`],
  ['[2001:db8::]:5000/repo', '[2001:db8::]:5000/repo:latest'],
  ['[::1]:5000/repo', '[::1]:5000/repo:latest'],
  [`example.com/${'a'.repeat(255)}:tag`, `example.com/${'a'.repeat(255)}:tag`], // path limit, not name limit
  // [norm] TestValidateReferenceName / TestValidateRemoteName
  ['docker/docker', 'docker.io/docker/docker:latest'],
  ['debian', 'docker.io/library/debian:latest'],
  ['localhost/library/debian', 'localhost/library/debian:latest'],
  ['LOCALDOMAIN/debian', 'LOCALDOMAIN/debian:latest'], // capitals make the first component a registry
  ['DOCKER/docker', 'DOCKER/docker:latest'],
  ['docker.io/debian', 'docker.io/library/debian:latest'],
  ['index.docker.io/docker/docker', 'docker.io/docker/docker:latest'],
  ['index.docker.io/library/debian', 'docker.io/library/debian:latest'],
  ['127.0.0.1:5000/library/debian', '127.0.0.1:5000/library/debian:latest'],
  ['192.168.0.1:80', 'docker.io/library/192.168.0.1:80'],
  ['192.168.0.1:8/debian', '192.168.0.1:8/debian:latest'],
  ['[fc00:1:2:3:4:5:6:7]:5000/library/debian', '[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest'],
  [`docker.io/${HEX64}`, `docker.io/library/${HEX64}:latest`], // a registry removes the ID ambiguity
  [
    'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
    'docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest',
  ],
  ['docker---rules/docker', 'docker.io/docker---rules/docker:latest'],
  ['dock__er/docker', 'docker.io/dock__er/docker:latest'],
  ['jess/t', 'docker.io/jess/t:latest'],
  // [norm] TestNormalizedSplitHostname, TestParseDockerRef
  ['test-com:8080/foo', 'test-com:8080/foo:latest'],
  ['xn--n3h.com:18080/foo', 'xn--n3h.com:18080/foo:latest'],
  ['docker.io/library/foo/bar', 'docker.io/library/foo/bar:latest'],
  ['library/busybox:latest', 'docker.io/library/busybox:latest'],
  [`redis@${REDIS}`, `docker.io/library/redis@${REDIS}`], // digest only: no "latest" added
  [`dmcgowan/myapp@${REDIS}`, `docker.io/dmcgowan/myapp@${REDIS}`],
  [`busybox:latest@${REDIS}`, `docker.io/library/busybox:latest@${REDIS}`], // tag and digest both kept
  [`sha256:${F64}`, `docker.io/library/sha256:${F64}`], // distribution's quirk: a name "sha256" with a tag
  [`${HEX64}:v1`, `docker.io/library/${HEX64}:v1`], // only a bare 64-hex string is ambiguous
  // [ours] loopback registries, IPv6, digests, Hub spellings
  ['nginx', 'docker.io/library/nginx:latest'],
  ['quay.io/a/b', 'quay.io/a/b:latest'],
  ['localhost/x', 'localhost/x:latest'],
  ['localhost:5000/x', 'localhost:5000/x:latest'],
  ['127.0.0.1:5000/x', '127.0.0.1:5000/x:latest'],
  [`127.0.0.1:5000/ns/app:1.2.3@${D}`, `127.0.0.1:5000/ns/app:1.2.3@${D}`],
  ['[::1]:5000/x', '[::1]:5000/x:latest'],
  ['[::1]/x:v2', '[::1]/x:v2'],
  ['index.docker.io/x', 'docker.io/library/x:latest'],
  ['docker.io/library/nginx:latest', 'docker.io/library/nginx:latest'],
  [`nginx@sha384:${'a'.repeat(96)}`, `docker.io/library/nginx@sha384:${'a'.repeat(96)}`],
  [`nginx@sha512:${'b'.repeat(128)}`, `docker.io/library/nginx@sha512:${'b'.repeat(128)}`],
  [`nginx:${'T'.repeat(128)}`, `docker.io/library/nginx:${'T'.repeat(128)}`], // longest tag
  ['nginx:_x', 'docker.io/library/nginx:_x'], // a tag may start with "_"
  ['localhost', 'docker.io/library/localhost:latest'], // bare localhost is a Hub name (distribution FIXME)
];

describe('parseNormalizedReference: valid inputs', () => {
  test.each(VALID)('%s', (input, expected) => {
    const ref = parseNormalizedReference(input);
    expect(formatReference(ref)).toBe(expected);
    expect(normalizeReference(input)).toBe(expected);
    expect(ref.name).toBe(`${ref.domain}/${ref.path}`);
  });

  test('has at least 50 table cases', () => {
    expect(VALID.length).toBeGreaterThanOrEqual(50);
  });

  test('splits components', () => {
    expect(parseNormalizedReference('nginx')).toEqual<ImageReference>({
      domain: 'docker.io',
      path: 'library/nginx',
      tag: 'latest',
      name: 'docker.io/library/nginx',
    });
    expect(parseNormalizedReference(`[2001:db8::1]:5000/repo:tag@${D}`)).toEqual<ImageReference>({
      domain: '[2001:db8::1]:5000',
      path: 'repo',
      tag: 'tag',
      digest: D,
      name: '[2001:db8::1]:5000/repo',
    });
    const pinned = parseNormalizedReference(`quay.io/a/b@${D}`);
    expect(pinned).toEqual<ImageReference>({
      domain: 'quay.io',
      path: 'a/b',
      digest: D,
      name: 'quay.io/a/b',
    });
    expect('tag' in pinned).toBe(false);
  });
});

describe('familiarName', () => {
  // [norm] TestParseRepositoryInfo: [any accepted spelling, familiar name, path]
  const cases: [string, string, string][] = [
    ['localhost/fooo/bar', 'localhost/fooo/bar', 'fooo/bar'],
    ['LOCALDOMAIN/fooo', 'LOCALDOMAIN/fooo', 'fooo'],
    ['index.docker.io/fooo/bar', 'fooo/bar', 'fooo/bar'],
    ['library/ubuntu', 'ubuntu', 'library/ubuntu'],
    ['index.docker.io/library/ubuntu-12.04-base', 'ubuntu-12.04-base', 'library/ubuntu-12.04-base'],
    ['docker.io/foo', 'foo', 'library/foo'],
    ['nonlibrary/ubuntu', 'nonlibrary/ubuntu', 'nonlibrary/ubuntu'],
    ['other/library', 'other/library', 'other/library'],
    ['library/foo/bar', 'library/foo/bar', 'library/foo/bar'], // nested under library/: kept
    ['127.0.0.1:8000/private/moonbase', '127.0.0.1:8000/private/moonbase', 'private/moonbase'],
    ['example.com:8000/privatebasee', 'example.com:8000/privatebasee', 'privatebasee'],
    ['Foo/bar', 'Foo/bar', 'bar'],
  ];
  test.each(cases)('%s → %s', (input, familiar, path) => {
    const ref = parseNormalizedReference(input);
    expect(familiarName(ref)).toBe(familiar);
    expect(ref.path).toBe(path);
    // the familiar name reads back as the same repository
    expect(parseNormalizedReference(familiarName(ref)).name).toBe(ref.name);
  });
});

describe('storeKeys', () => {
  test('tag only: name:tag', () => {
    expect(storeKeys(parseNormalizedReference('nginx'))).toEqual(['docker.io/library/nginx:latest']);
  });
  test('digest only: name@digest, no latest', () => {
    expect(storeKeys(parseNormalizedReference(`quay.io/a/b@${D}`))).toEqual([`quay.io/a/b@${D}`]);
  });
  test('tag and digest: both', () => {
    expect(storeKeys(parseNormalizedReference(`localhost:5000/x:v1@${D}`))).toEqual([
      'localhost:5000/x:v1',
      `localhost:5000/x@${D}`,
    ]);
  });
  test('a hand-built reference without tag or digest falls back to latest', () => {
    expect(storeKeys({ domain: 'quay.io', path: 'a', name: 'quay.io/a' })).toEqual(['quay.io/a:latest']);
  });
});

describe('formatReference', () => {
  test('name[:tag][@digest]', () => {
    expect(formatReference({ domain: 'quay.io', path: 'a', name: 'quay.io/a' })).toBe('quay.io/a');
    expect(formatReference({ domain: 'quay.io', path: 'a', name: 'quay.io/a', tag: 't', digest: D })).toBe(
      `quay.io/a:t@${D}`,
    );
  });
});
