// loadConfig: find and read the configuration files (UTF-8) and hand their text to the parser.
// Without an explicit path the configuration is layered (paths.ts): vendor file, /etc file, then the
// drop-ins in name order, each optional, later files overriding earlier ones per key. A path given
// explicitly (--config) is read alone and must exist.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from './config-error.js';
import { applyLayers, parseLayer, type ConfigLayer, type ConfigSetting } from './parse.js';
import { CONFIG_PATHS, type ConfigPaths } from './paths.js';
import type { Config } from './schema.js';
import { errnoCode, messageOf } from '../errors.js';

export const DEFAULT_CONFIG_PATH = CONFIG_PATHS.main;

/** What loadConfigFiles found: the configuration, the files read in order, where each set key came from. */
export interface LoadedConfig {
  config: Config;
  files: string[];
  /** `section.key` → the setting in effect; keys at their default are absent. */
  origins: Map<string, ConfigSetting>;
}

/**
 * Read the configuration: the layers of `paths` without `path`, only the file `path` (which must
 * exist, even if equal to a default) with it. Throws ConfigError for an unreadable file or directory,
 * text that is not UTF-8, or any invalid content; the error names the file, the line and the key.
 */
export async function loadConfig(path?: string, paths: ConfigPaths = CONFIG_PATHS): Promise<Config> {
  return (await loadConfigFiles(path, paths)).config;
}

/** loadConfig, with the files read and the origin of every key set (for `bound-imaged --check-config`). */
export async function loadConfigFiles(
  path?: string,
  paths: ConfigPaths = CONFIG_PATHS,
): Promise<LoadedConfig> {
  const layers: ConfigLayer[] = [];
  if (path !== undefined) {
    const layer = await readLayer(path, false);
    if (layer !== null) layers.push(layer);
  } else {
    for (const file of [paths.vendor, paths.main]) {
      const layer = await readLayer(file, true);
      if (layer !== null) layers.push(layer);
    }
    // A listed drop-in must be readable: a dangling link is a mistake, not an absent file.
    for (const file of await dropIns(paths.dropInDir)) {
      const layer = await readLayer(file, false);
      if (layer !== null) layers.push(layer);
    }
  }
  const { config, origins } = applyLayers(layers);
  return { config, files: layers.map((l) => l.file), origins };
}

/** The `*.ini` files of a drop-in directory, in byte order of their names; none when it does not exist. */
export async function dropIns(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw new ConfigError(dir, `cannot read the drop-in directory: ${messageOf(err)}`, {}, { cause: err });
  }
  return names
    .filter((n) => n.endsWith('.ini') && !n.startsWith('.'))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((n) => join(dir, n));
}

/** loadConfig's work on one file, with the "missing is fine" switch exposed for tests on temp paths. */
export async function readConfigFile(file: string, options: { optional?: boolean } = {}): Promise<Config> {
  const layer = await readLayer(file, options.optional === true);
  return applyLayers(layer === null ? [] : [layer]).config;
}

/** One file's layer; null only when `optional` and the file does not exist. */
async function readLayer(file: string, optional: boolean): Promise<ConfigLayer | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if (optional && errnoCode(err) === 'ENOENT') return null;
    throw new ConfigError(file, `cannot read the file: ${messageOf(err)}`, {}, { cause: err });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (err) {
    throw new ConfigError(file, 'the file is not valid UTF-8 text', {}, { cause: err });
  }
  return parseLayer(text, file);
}
