// ServedRoot's decision (the probe may only confirm; anything else asks GET /info) and the parsing of
// the overlay store directory out of an inspected image. The real services are in
// test/integration/reconcile-store-identity.test.ts and reconcile-api-calls.test.ts.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';

import { parseOverlayRoot, parseOwnImage } from './api-schema.js';
import { ServedRoot, type RootSources } from './served-root.js';

const dir = mkdtempSync(join(tmpdir(), 'bound-imaged-served-root-'));
const store = join(dir, 'store');
mkdirSync(store);
const LAYER = 'a'.repeat(64);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Fake {
  probe?: string | null | Error;
  owned?: boolean;
  info?: string;
  version?: string;
}

/** Sources answering as told, and the calls they got. */
function sources(f: Fake) {
  const calls: string[] = [];
  const s: RootSources = {
    async info() {
      calls.push('info');
      return { rootDir: f.info ?? '/var/lib/containers/storage', version: f.version ?? '4.3.1' };
    },
    async overlayRootOf(id) {
      calls.push(`inspect ${id}`);
      if (f.probe instanceof Error) throw f.probe;
      return f.probe ?? null;
    },
    async ownsImage(id) {
      calls.push(`owns ${id}`);
      return f.owned ?? true;
    },
  };
  return { s, calls };
}

/** A ServedRoot that has made its first GET /info (answering the expected store). */
async function warmed(f: Fake) {
  const { s, calls } = sources({ ...f, info: f.info ?? store });
  const served = new ServedRoot(s, store);
  expect(await served.root(undefined)).toBe(f.info ?? store);
  calls.length = 0;
  return { served, calls };
}

describe('ServedRoot', () => {
  test('the first call of a process asks GET /info, even with an image to probe', async () => {
    const { s, calls } = sources({ probe: store, info: store });
    expect(await new ServedRoot(s, store).root('sha256:x')).toBe(store);
    expect(calls).toEqual(['info']);
  });

  test('then an image of its own in the expected store confirms it without GET /info', async () => {
    const { served, calls } = await warmed({ probe: store });
    expect(await served.root('sha256:x')).toBe(store);
    expect(calls.sort()).toEqual(['inspect sha256:x', 'owns sha256:x']);
  });

  test('the same directory through a symbolic link confirms it too', async () => {
    const link = join(dir, 'link');
    symlinkSync(dir, link);
    const { served, calls } = await warmed({ probe: join(link, 'store') });
    expect(await served.root('sha256:x')).toBe(join(link, 'store'));
    expect(calls).not.toContain('info');
  });

  test.each<[string, Fake]>([
    ['another directory', { probe: '/var/lib/containers/storage' }],
    ['no such image, or another driver', { probe: null }],
    ['an image read from an additional image store', { probe: store, owned: false }],
    ['a failed probe', { probe: new Error('GET /images/sha256:x/json: socket hang up') }],
  ])('%s: GET /info decides', async (_what, f) => {
    const { served, calls } = await warmed(f);
    expect(await served.root('sha256:x')).toBe(store);
    expect(calls).toContain('info');
  });

  test('nothing to probe with: GET /info', async () => {
    const { served, calls } = await warmed({ probe: store });
    expect(await served.root(undefined)).toBe(store);
    expect(calls).toEqual(['info']);
  });

  test('a Podman older than 4 (no ReadOnly in its listing) is always asked GET /info', async () => {
    const { served, calls } = await warmed({ probe: store, version: '3.4.4' });
    expect(await served.root('sha256:x')).toBe(store);
    expect(calls).toEqual(['info']);
  });
});

describe('parseOverlayRoot', () => {
  const inspect = (driver: unknown) => ({ Id: LAYER, GraphDriver: driver });

  test('the store is three levels above the top layer of an overlay image', () => {
    const upper = `/usr/lib/bootc/storage/overlay/${LAYER}/diff`;
    expect(parseOverlayRoot(inspect({ Name: 'overlay', Data: { UpperDir: upper } }), 'x')).toBe(
      '/usr/lib/bootc/storage',
    );
  });

  test.each([
    ['no GraphDriver', undefined],
    ['another driver', { Name: 'vfs', Data: { UpperDir: `/s/overlay/${LAYER}/diff` } }],
    ['no Data', { Name: 'overlay' }],
    ['no UpperDir', { Name: 'overlay', Data: {} }],
    ['an UpperDir of another shape', { Name: 'overlay', Data: { UpperDir: `/s/overlay/${LAYER}/work` } }],
    ['a relative UpperDir', { Name: 'overlay', Data: { UpperDir: `s/overlay/${LAYER}/diff` } }],
  ])('%s: not conclusive (null)', (_what, driver) => {
    expect(parseOverlayRoot(inspect(driver), 'x')).toBeNull();
  });

  test.each([
    ['GraphDriver', 'overlay', /GraphDriver is not an object/],
    ['Data', { Name: 'overlay', Data: [] }, /GraphDriver\.Data is not an object/],
    ['UpperDir', { Name: 'overlay', Data: { UpperDir: 7 } }, /UpperDir is not a string/],
  ])('a malformed %s is an error naming the call and the field', (_what, driver, error) => {
    expect(() => parseOverlayRoot(inspect(driver), 'sha256:x')).toThrow(error);
    expect(() => parseOverlayRoot(inspect(driver), 'sha256:x')).toThrow(/GET \/images\/sha256:x\/json/);
  });
});

describe('parseOwnImage', () => {
  const id = `sha256:${LAYER}`;
  test("an image of the service's own store: listed, ReadOnly absent or false", () => {
    expect(parseOwnImage([{ Id: LAYER }], id)).toBe(true);
    expect(parseOwnImage([{ Id: LAYER, ReadOnly: false }], id)).toBe(true);
  });

  test('read from an additional image store, or not listed at all: not its own', () => {
    expect(parseOwnImage([{ Id: LAYER, ReadOnly: true }], id)).toBe(false);
    expect(parseOwnImage([], id)).toBe(false);
    expect(parseOwnImage([{ Id: 'b'.repeat(64) }], id)).toBe(false);
  });

  test('a malformed answer is an error naming the call and the field', () => {
    expect(() => parseOwnImage({}, id)).toThrow(/GET \/libpod\/images\/json: .*not a JSON array/);
    expect(() => parseOwnImage([{ Id: LAYER, ReadOnly: 'no' }], id)).toThrow(/ReadOnly is not a boolean/);
  });
});

describe('ServedRoot in a process that has made no GET /info yet (a listing kept across a restart)', () => {
  const withPing = (f: Fake, ping: string | undefined | Error) => {
    const { s, calls } = sources(f);
    s.apiVersion = async () => {
      calls.push('ping');
      if (ping instanceof Error) throw ping;
      return ping;
    };
    return { s, calls };
  };

  test('a Podman 4 on GET /_ping lets the probe confirm without GET /info', async () => {
    const { s, calls } = withPing({ probe: store, info: '/elsewhere' }, '4.3.1');
    expect(await new ServedRoot(s, store).root('sha256:x')).toBe(store);
    expect(calls.sort()).toEqual(['inspect sha256:x', 'owns sha256:x', 'ping']);
  });

  test('an older, missing or failed version asks GET /info, and a failed probe still does', async () => {
    for (const ping of ['3.4.4', undefined, new Error('gone')]) {
      const { s, calls } = withPing({ probe: store, info: store }, ping);
      expect(await new ServedRoot(s, store).root('sha256:x')).toBe(store);
      expect(calls).toEqual(['ping', 'info']);
    }
    const { s, calls } = withPing({ probe: '/elsewhere', info: '/elsewhere' }, '4.3.1');
    expect(await new ServedRoot(s, store).root('sha256:x')).toBe('/elsewhere');
    expect(calls).toContain('info');
  });
});
