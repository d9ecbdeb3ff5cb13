// loadConfig / readConfigFile: real files in a temporary directory.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from './config-error.js';
import { DEFAULT_CONFIG_PATH, loadConfig, readConfigFile } from './load.js';
import { defaultConfig } from './schema.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bound-imaged-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<ConfigError> {
  const err: unknown = await promise.then(
    () => new Error('expected a ConfigError'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe('loadConfig', () => {
  test('reads a file and records its path', async () => {
    const file = join(dir, 'ok.ini');
    await writeFile(file, '[pull]\nconcurrency = 8\n');
    const config = await loadConfig(file);
    expect(config.file).toBe(file);
    expect(config.pull.concurrency).toBe(8);
  });

  test('an explicit path that does not exist is an error naming it', async () => {
    const file = join(dir, 'absent.ini');
    const error = await rejection(loadConfig(file));
    expect(error.file).toBe(file);
    expect(error.line).toBeUndefined();
    expect(error.message).toMatch(new RegExp(`^${file}: cannot read the file: ENOENT`));
  });

  test('a missing optional (default) file gives the defaults, file null', async () => {
    expect(await readConfigFile(join(dir, 'absent.ini'), { optional: true })).toEqual(defaultConfig());
    expect(await readConfigFile(join(dir, 'no-such-dir', 'config.ini'), { optional: true })).toEqual(
      defaultConfig(),
    );
  });

  test.skipIf(existsSync(DEFAULT_CONFIG_PATH))(
    'no argument and no /etc/bound-imaged/config.ini: defaults',
    async () => {
      expect(await loadConfig()).toEqual(defaultConfig());
    },
  );

  test('an unreadable file is an error, optional or not (a directory in its place: EISDIR)', async () => {
    const file = join(dir, 'is-a-dir.ini');
    await mkdir(file);
    // Thunks, not promises: a second promise created up front would reject before it is awaited.
    for (const load of [() => loadConfig(file), () => readConfigFile(file, { optional: true })]) {
      const error = await rejection(load());
      expect(error.file).toBe(file);
      expect(error.message).toContain('EISDIR');
    }
  });

  test('a path through a regular file (ENOTDIR) is an error even for the default path', async () => {
    const notDir = join(dir, 'plain');
    await writeFile(notDir, '');
    const error = await rejection(readConfigFile(join(notDir, 'config.ini'), { optional: true }));
    expect(error.message).toContain('ENOTDIR');
  });

  test('an empty file gives the defaults with the file recorded', async () => {
    const file = join(dir, 'empty.ini');
    await writeFile(file, '');
    expect(await loadConfig(file)).toEqual({ ...defaultConfig(), file });
  });

  test('bytes that are not UTF-8 are refused', async () => {
    const file = join(dir, 'latin1.ini');
    await writeFile(file, Buffer.from('[storage]\npath = /srv/caf\xe9\n', 'latin1'));
    const error = await rejection(loadConfig(file));
    expect(error.message).toBe(`${file}: the file is not valid UTF-8 text`);
  });

  test('UTF-8 with BOM and CRLF, as some editors save it', async () => {
    const file = join(dir, 'bom.ini');
    await writeFile(
      file,
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[gc]\r\nenabled = 0\r\n')]),
    );
    expect((await loadConfig(file)).gc.enabled).toBe(false);
    await writeFile(
      file,
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[gc]\r\nenabled = 5\r\n')]),
    );
    const error = await rejection(loadConfig(file));
    expect([error.file, error.key, error.line]).toEqual([file, 'gc.enabled', 2]);
  });
});
