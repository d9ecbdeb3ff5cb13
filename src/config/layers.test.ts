// The layered configuration on real files: vendor file, /etc file and config.d drop-ins in a temp
// directory standing for / (CONFIG_PATHS re-rooted), later files winning per key, errors naming the
// file, key and line of the layer at fault; and the effective configuration --check-config prints.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ConfigError } from './config-error.js';
import { iniValue, renderEffective } from './effective.js';
import { dropIns, loadConfig, loadConfigFiles } from './load.js';
import { parseConfig } from './parse.js';
import { CONFIG_PATHS, type ConfigPaths } from './paths.js';
import { defaultConfig } from './schema.js';

let root: string;
let paths: ConfigPaths;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bound-imaged-layers-'));
  paths = {
    vendor: join(root, CONFIG_PATHS.vendor),
    main: join(root, CONFIG_PATHS.main),
    dropInDir: join(root, CONFIG_PATHS.dropInDir),
  };
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function put(path: string, text: string): Promise<string> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
  return path;
}

const dropIn = (name: string): string => join(paths.dropInDir, name);

async function loadError(path?: string): Promise<ConfigError> {
  const err: unknown = await loadConfigFiles(path, paths).then(
    () => new Error('expected a ConfigError'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe('the default locations', () => {
  test('are the documented ones', () => {
    expect(CONFIG_PATHS).toEqual({
      vendor: '/usr/lib/bound-imaged/config.ini',
      main: '/etc/bound-imaged/config.ini',
      dropInDir: '/etc/bound-imaged/config.d',
    });
  });
});

describe('layers', () => {
  test('no file at all: the defaults, nothing read', async () => {
    const loaded = await loadConfigFiles(undefined, paths);
    expect(loaded.config).toEqual(defaultConfig());
    expect(loaded.files).toEqual([]);
    expect(loaded.origins.size).toBe(0);
  });

  test('vendor, then /etc, then drop-ins: later wins per key, the rest stays', async () => {
    await put(paths.vendor, '[pull]\nconcurrency = 6\nretries = 5\n[gc]\nenabled = no\n');
    await put(paths.main, '[pull]\nretries = 1\n[daemon]\nkeep-jobs = 40\n');
    await put(dropIn('50-slow.ini'), '[pull]\nconcurrency = 2\n\ntimeout = 1800\n');
    await put(dropIn('90-gc.ini'), '[gc]\nenabled = yes\n');
    const loaded = await loadConfigFiles(undefined, paths);
    expect(loaded.files).toEqual([paths.vendor, paths.main, dropIn('50-slow.ini'), dropIn('90-gc.ini')]);
    const d = defaultConfig();
    expect(loaded.config).toEqual({
      ...d,
      file: dropIn('90-gc.ini'),
      pull: { ...d.pull, concurrency: 2, retries: 1, timeoutMs: 1_800_000 },
      gc: { enabled: true },
      daemon: { ...d.daemon, keepJobs: 40 },
    });
    const origin = (key: string): string | undefined => {
      const o = loaded.origins.get(key);
      return o && `${o.file}:${o.line}`;
    };
    expect(origin('pull.concurrency')).toBe(`${dropIn('50-slow.ini')}:2`);
    expect(origin('pull.timeout')).toBe(`${dropIn('50-slow.ini')}:4`);
    expect(origin('pull.retries')).toBe(`${paths.main}:2`);
    expect(origin('gc.enabled')).toBe(`${dropIn('90-gc.ini')}:2`);
    expect(origin('storage.path')).toBeUndefined();
  });

  test('each layer is optional: vendor file alone, drop-ins alone', async () => {
    await put(paths.vendor, '[pull]\nretries = 9\n');
    expect((await loadConfig(undefined, paths)).pull.retries).toBe(9);
    await rm(paths.vendor);
    await put(dropIn('a.ini'), '[pull]\nretries = 8\n');
    expect((await loadConfig(undefined, paths)).pull.retries).toBe(8);
  });

  test('drop-ins: only *.ini, not hidden, in byte order of the names', async () => {
    for (const name of ['b.ini', '10-x.ini', '2-y.ini', 'Z.ini', 'a.ini', 'x.conf', 'y.ini~', '.h.ini']) {
      await put(dropIn(name), '');
    }
    expect(await dropIns(paths.dropInDir)).toEqual(
      ['10-x.ini', '2-y.ini', 'Z.ini', 'a.ini', 'b.ini'].map(dropIn),
    );
  });

  test('the later of two drop-ins wins, by name and not by age', async () => {
    await put(dropIn('20-b.ini'), '[pull]\nconcurrency = 20\n');
    await put(dropIn('10-a.ini'), '[pull]\nconcurrency = 10\n');
    expect((await loadConfig(undefined, paths)).pull.concurrency).toBe(20);
  });

  test('a drop-in linked to /dev/null sets nothing (masks a vendor drop-in of that name)', async () => {
    await mkdir(paths.dropInDir, { recursive: true });
    await symlink('/dev/null', dropIn('50-mask.ini'));
    const loaded = await loadConfigFiles(undefined, paths);
    expect(loaded.config).toEqual({ ...defaultConfig(), file: dropIn('50-mask.ini') });
  });

  test('the same key in two files is an override; twice in one file it is an error', async () => {
    await put(paths.main, '[pull]\nretries = 1\n');
    await put(dropIn('a.ini'), '[pull]\nretries = 2\n');
    expect((await loadConfig(undefined, paths)).pull.retries).toBe(2);
    await put(dropIn('b.ini'), '[pull]\nretries = 3\n[pull]\nretries = 4\n');
    const e = await loadError();
    expect([e.file, e.key, e.line]).toEqual([dropIn('b.ini'), 'pull.retries', 4]);
  });

  test('--config PATH reads that file alone, and it must exist', async () => {
    await put(paths.vendor, '[pull]\nretries = 9\n');
    await put(dropIn('a.ini'), '[pull]\nconcurrency = 9\n');
    const only = await put(join(root, 'only.ini'), '[gc]\nenabled = off\n');
    const loaded = await loadConfigFiles(only, paths);
    expect(loaded.files).toEqual([only]);
    expect(loaded.config).toEqual({ ...defaultConfig(), file: only, gc: { enabled: false } });
    const e = await loadError(join(root, 'absent.ini'));
    expect(e.message).toMatch(/absent\.ini: cannot read the file: ENOENT/);
  });
});

describe('errors name the layer at fault', () => {
  test('a bad value in a drop-in: its file, line and key', async () => {
    await put(paths.main, '[pull]\nconcurrency = 4\n');
    await put(dropIn('50-fleet.ini'), '# fleet\n[pull]\nconcurrency = 64\n');
    const e = await loadError();
    expect(e.message).toBe(
      `${dropIn('50-fleet.ini')}:3: pull.concurrency: expected auto or an integer from 1 to 32, got "64"`,
    );
  });

  test('a bad value is an error even when a later file overrides the key', async () => {
    await put(paths.vendor, '[pull]\n\nretries = lots\n');
    await put(paths.main, '[pull]\nretries = 2\n');
    const e = await loadError();
    expect([e.file, e.key, e.line]).toEqual([paths.vendor, 'pull.retries', 3]);
  });

  test('the first problem in reading order is reported (layout or value)', async () => {
    await put(paths.main, '[pull]\nretries = 99\n');
    await put(dropIn('a.ini'), '[network]\n');
    expect((await loadError()).file).toBe(paths.main);
  });

  test('unknown section or key in a vendor file', async () => {
    await put(paths.vendor, '[storage]\npth = /x\n');
    const e = await loadError();
    expect([e.file, e.key, e.line]).toEqual([paths.vendor, 'storage.pth', 2]);
  });

  test('a drop-in that cannot be read: a dangling link, a directory', async () => {
    await mkdir(paths.dropInDir, { recursive: true });
    await symlink(join(root, 'gone.ini'), dropIn('10-dangling.ini'));
    expect((await loadError()).message).toMatch(/10-dangling\.ini: cannot read the file: ENOENT/);
    await rm(dropIn('10-dangling.ini'));
    await mkdir(dropIn('20-dir.ini'));
    expect((await loadError()).message).toMatch(/20-dir\.ini: cannot read the file: EISDIR/);
  });

  test('a drop-in "directory" that is a file', async () => {
    await put(paths.dropInDir, '');
    const e = await loadError();
    expect(e.file).toBe(paths.dropInDir);
    expect(e.message).toContain('cannot read the drop-in directory: ENOTDIR');
  });

  test('a drop-in that is not UTF-8', async () => {
    await put(dropIn('a.ini'), '');
    await writeFile(dropIn('a.ini'), Buffer.from('[storage]\npath = /caf\xe9\n', 'latin1'));
    expect((await loadError()).message).toBe(`${dropIn('a.ini')}: the file is not valid UTF-8 text`);
  });
});

describe('the effective configuration (--check-config)', () => {
  test('every key, the value in effect, the origin of what a file set; parses back the same', async () => {
    await put(paths.vendor, '[pull]\nconcurrency = 6\n');
    await put(dropIn('50-x.ini'), '[storage]\npath = "/srv/my store;1"\n[pull]\nretries = 0\n');
    const loaded = await loadConfigFiles(undefined, paths);
    const text = renderEffective(loaded);
    expect(text).toContain(`#   ${paths.vendor}\n#   ${dropIn('50-x.ini')}\n`);
    expect(text).toContain(`; ${paths.vendor}:2\nconcurrency = 6\n`);
    expect(text).toContain(`; ${dropIn('50-x.ini')}:4\nretries = 0\n`);
    expect(text).toContain(`; ${dropIn('50-x.ini')}:2\npath = "/srv/my store;1"\n`);
    expect(text).toContain('roots = / /ostree/deploy/*/deploy/* /sysroot/state/deploy/*\n');
    expect(parseConfig(text, 'effective')).toEqual({ ...loaded.config, file: 'effective' });
  });

  test('without files it says so and lists the defaults', async () => {
    const text = renderEffective(await loadConfigFiles(undefined, paths));
    expect(text).toMatch(/^# no configuration file found: built-in defaults\n/);
    expect(parseConfig(text, 'x')).toEqual({ ...defaultConfig(), file: 'x' });
  });

  test.each(['/a', '/srv/a b', '/a;b', '/a#b', '/q"', "/q'", '/back\\slash', '/tab\tin', '/x ; y'])(
    'iniValue(%j) reads back unchanged',
    (value) => {
      const config = parseConfig(`[storage]\npath = ${iniValue(value)}\n`, 'f');
      expect(config.storage.path).toBe(value);
    },
  );
});
