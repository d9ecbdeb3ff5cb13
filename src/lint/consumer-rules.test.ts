import { describe, expect, it } from 'vitest';

import { resolveBoundImageFile, type QuadletLoader } from '../quadlet/index.js';
import { consumerFindings, readsBoundStore, splitArgs } from './consumer-rules.js';
import type { Finding } from './findings.js';

const D = '/etc/containers/systemd';
const STORE_ARG = '--storage-opt=additionalimagestore=/usr/lib/bootc/storage';

function loader(files: Record<string, string>): QuadletLoader {
  return {
    read(path) {
      const text = files[path];
      return text === undefined
        ? Promise.reject(new Error('does not exist'))
        : Promise.resolve({ path, text });
    },
    listDropIns(unit) {
      return Promise.resolve(
        Object.keys(files)
          .filter((p) => p.startsWith(`${unit}.d/`))
          .sort(),
      );
    },
  };
}

async function check(unit: string, files: Record<string, string>): Promise<Finding[]> {
  const spec = await resolveBoundImageFile(`${D}/${unit}`, loader(files));
  return consumerFindings(spec, 'quay.io/org/app:2');
}

describe('splitArgs', () => {
  it('splits on whitespace and removes quotes and escapes as Quadlet does', () => {
    expect(splitArgs('  --log-level=debug\t--root "/var/my store" ')).toEqual([
      '--log-level=debug',
      '--root',
      '/var/my store',
    ]);
    expect(splitArgs(`'a b'c "d\\"e" f\\ g ""`)).toEqual(['a bc', 'd"e', 'f g', '']);
  });
});

describe('readsBoundStore', () => {
  it('accepts the option in one word or two, and the path with a trailing slash', () => {
    expect(readsBoundStore([STORE_ARG])).toBe(true);
    expect(readsBoundStore(['--storage-opt', 'additionalimagestore=/usr/lib/bootc/storage/'])).toBe(true);
    expect(
      readsBoundStore(['--log-level=info', '--storage-opt=additionalimagestore=/usr/lib/bootc//storage']),
    ).toBe(true);
  });

  it('refuses another store, another option, or the option without its value', () => {
    expect(readsBoundStore(['--storage-opt=additionalimagestore=/usr/lib/bootc/storage2'])).toBe(false);
    expect(readsBoundStore(['--storage-opt=additionalimagestore=usr/lib/bootc/storage'])).toBe(false);
    expect(readsBoundStore(['--root=/usr/lib/bootc/storage'])).toBe(false);
    expect(readsBoundStore(['--storage-opt'])).toBe(false);
  });
});

describe('consumerFindings', () => {
  it('warns about a bound .container that does not read the bound store, naming the image', async () => {
    const found = await check('app.container', {
      [`${D}/app.container`]: '[Container]\nImage=quay.io/org/app:2\n',
    });
    expect(found).toEqual([
      expect.objectContaining({ severity: 'warning', rule: 'no-bound-store', file: `${D}/app.container` }),
    ]);
    expect(found[0]?.message).toContain('pulls its own copy of quay.io/org/app:2');
  });

  it('is satisfied by GlobalArgs= in the unit or in a drop-in, among other arguments', async () => {
    const inUnit = `[Container]\nImage=quay.io/org/app:2\nGlobalArgs=--log-level=info ${STORE_ARG}\n`;
    expect(await check('app.container', { [`${D}/app.container`]: inUnit })).toEqual([]);
    const inDropIn = {
      [`${D}/app.container`]: '[Container]\nImage=quay.io/org/app:2\n',
      [`${D}/app.container.d/store.conf`]: `[Container]\nGlobalArgs=--storage-opt "additionalimagestore=/usr/lib/bootc/storage"\n`,
    };
    expect(await check('app.container', inDropIn)).toEqual([]);
  });

  it('honours an empty GlobalArgs= that clears the earlier ones', async () => {
    const files = {
      [`${D}/app.container`]: `[Container]\nImage=quay.io/org/app:2\nGlobalArgs=${STORE_ARG}\n`,
      [`${D}/app.container.d/reset.conf`]: '[Container]\nGlobalArgs=\nGlobalArgs=--log-level=info\n',
    };
    expect((await check('app.container', files)).map((f) => f.rule)).toEqual(['no-bound-store']);
  });

  it('warns about Pull=always or newer on a bound .container, at its line; missing is fine', async () => {
    const unit = (pull: string) => ({
      [`${D}/app.container`]: `[Container]\nImage=quay.io/org/app:2\nGlobalArgs=${STORE_ARG}\nPull=${pull}\n`,
    });
    for (const pull of ['always', 'Newer', 'IfNewer', '"always"']) {
      expect(await check('app.container', unit(pull))).toEqual([
        expect.objectContaining({
          severity: 'warning',
          rule: 'pull-policy',
          file: `${D}/app.container`,
          line: 4,
        }),
      ]);
    }
    for (const pull of ['missing', 'never', 'ifnotpresent'])
      expect(await check('app.container', unit(pull))).toEqual([]);
  });

  it('does not ask it of a bound .image, whose consumers are not known', async () => {
    expect(await check('app.image', { [`${D}/app.image`]: '[Image]\nImage=quay.io/org/app:2\n' })).toEqual(
      [],
    );
  });

  it('reports the Variant= discovery passed over, with its file and line', async () => {
    const found = await check('app.image', {
      [`${D}/app.image`]: '[Image]\nImage=quay.io/org/app:2\nVariant=arm/v6\n',
    });
    expect(found).toEqual([
      expect.objectContaining({
        severity: 'warning',
        rule: 'ignored-value',
        file: `${D}/app.image`,
        line: 3,
      }),
    ]);
  });
});
