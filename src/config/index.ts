// Public surface of the configuration module: /etc/bound-imaged/config.ini → a validated Config.
export { ConfigError } from './config-error.js';
export { CONFIG_KEYS, defaultConfig, type Config } from './schema.js';
export { parseConfig } from './parse.js';
export { DEFAULT_CONFIG_PATH, loadConfig } from './load.js';
