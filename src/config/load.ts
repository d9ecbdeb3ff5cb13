// loadConfig: find and read the configuration file (UTF-8), then hand its text to parseConfig.
// Only the default path may be missing (→ built-in defaults); a path given explicitly must exist.
import { readFile } from 'node:fs/promises';
import { ConfigError } from './config-error.js';
import { parseConfig } from './parse.js';
import { defaultConfig, type Config } from './schema.js';
import { errnoCode, messageOf } from '../errors.js';

export const DEFAULT_CONFIG_PATH = '/etc/bound-imaged/config.ini';

/**
 * Read the configuration. Without `path`, read DEFAULT_CONFIG_PATH and fall back to defaultConfig()
 * when it does not exist; with `path` (even if equal to the default), the file must exist.
 * Throws ConfigError for an unreadable file, text that is not UTF-8, or any invalid content.
 */
export async function loadConfig(path?: string): Promise<Config> {
  return path === undefined ? readConfigFile(DEFAULT_CONFIG_PATH, { optional: true }) : readConfigFile(path);
}

/** loadConfig's work, with the "missing is fine" switch exposed for tests on temporary paths. */
export async function readConfigFile(file: string, options: { optional?: boolean } = {}): Promise<Config> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if (options.optional === true && errnoCode(err) === 'ENOENT') return defaultConfig();
    throw new ConfigError(
      file,
      `cannot read the file: ${messageOf(err)}`,
      {},
      {
        cause: err,
      },
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (err) {
    throw new ConfigError(file, 'the file is not valid UTF-8 text', {}, { cause: err });
  }
  return parseConfig(text, file);
}
