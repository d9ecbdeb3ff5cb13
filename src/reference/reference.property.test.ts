// Property tests: normalization is idempotent and lossless for every valid reference the grammar
// generates, and any string at all either parses or fails with a ReferenceError saying why.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  ReferenceError,
  formatReference,
  normalizeReference,
  parseNormalizedReference,
} from './reference.js';

const port = fc.integer({ min: 1, max: 65535 }).map((p) => `:${p}`);
const optionalPort = fc.option(port, { nil: '' });
const dnsLabel = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?$/);
const domain = fc.oneof(
  fc.constantFrom('docker.io', 'index.docker.io', 'localhost', 'quay.io', 'LOCALDOMAIN', 'Registry'),
  fc.tuple(fc.constantFrom('localhost', 'Registry'), port).map(([h, p]) => h + p),
  fc.tuple(fc.array(dnsLabel, { minLength: 2, maxLength: 4 }), optionalPort).map(([l, p]) => l.join('.') + p),
  fc
    .tuple(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), optionalPort)
    .map(([ip, p]) => ip.join('.') + p),
  fc
    .tuple(fc.constantFrom('::1', '2001:db8::1', 'fc00:1:2:3:4:5:6:7', '::'), optionalPort)
    .map(([a, p]) => `[${a}]${p}`),
);
const pathComponent = fc.stringMatching(/^[a-z0-9]{1,6}(?:(?:[._]|__|-{1,3})[a-z0-9]{1,6}){0,3}$/);
const path = fc.array(pathComponent, { minLength: 1, maxLength: 4 }).map((c) => c.join('/'));
const tag = fc.stringMatching(/^\w[\w.-]{0,30}$/);
const digest = fc.oneof(
  fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`),
  fc.stringMatching(/^[0-9a-f]{96}$/).map((h) => `sha384:${h}`),
  fc.stringMatching(/^[0-9a-f]{128}$/).map((h) => `sha512:${h}`),
);

/**
 * Without a registry, a first path component with a "." would be read as a registry (that is the
 * grammar's rule, not a bug), so familiar-form paths get "-" there instead.
 */
function familiarPath(p: string): string {
  const slash = p.indexOf('/');
  return slash < 0 ? p : p.slice(0, slash).replaceAll('.', '-') + p.slice(slash);
}

/** A valid reference in familiar or full form, with any combination of tag and digest. */
const validReference = fc
  .tuple(
    fc.option(domain, { nil: undefined }),
    path,
    fc.option(tag, { nil: undefined }),
    fc.option(digest, { nil: undefined }),
  )
  .map(
    ([d, p, t, g]) =>
      `${d !== undefined ? `${d}/${p}` : familiarPath(p)}${t !== undefined ? `:${t}` : ''}${g !== undefined ? `@${g}` : ''}`,
  );

describe('normalization properties', () => {
  test('normalizeReference(normalizeReference(x)) === normalizeReference(x) for valid x', () => {
    fc.assert(
      fc.property(validReference, (input) => {
        const once = normalizeReference(input);
        expect(normalizeReference(once)).toBe(once);
        // and the parse of the normalized form is the same reference
        expect(parseNormalizedReference(once)).toEqual(parseNormalizedReference(input));
      }),
      { numRuns: 500 },
    );
  });

  test('a normalized reference always carries a tag or a digest, and its name has a registry', () => {
    fc.assert(
      fc.property(validReference, (input) => {
        const ref = parseNormalizedReference(input);
        expect(ref.tag !== undefined || ref.digest !== undefined).toBe(true);
        expect(ref.domain).not.toBe('index.docker.io');
        expect(formatReference(ref).startsWith(`${ref.domain}/`)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test('any string either parses (idempotently) or throws a ReferenceError with a reason', () => {
    const unit = fc.constantFrom(...'aZ09.-_:/@[]% '.split(''), 'sha256:', 'docker.io/', 'f'.repeat(32));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit, maxLength: 12 })), (input) => {
        let normalized: string | undefined;
        try {
          normalized = normalizeReference(input);
        } catch (e) {
          expect(e).toBeInstanceOf(ReferenceError);
          expect((e as ReferenceError).reason.length).toBeGreaterThan(0);
          return;
        }
        expect(normalizeReference(normalized)).toBe(normalized);
      }),
      { numRuns: 1000 },
    );
  });
});
