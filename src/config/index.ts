// Public surface of the configuration module: the layered config.ini files → a validated Config.
export { ConfigError } from './config-error.js';
export { CONFIG_KEYS, defaultConfig, type Config } from './schema.js';
export { applyLayers, parseConfig, parseLayer } from './parse.js';
export { DEFAULT_CONFIG_PATH, loadConfig, loadConfigFiles } from './load.js';
export { CONFIG_PATHS, type ConfigPaths } from './paths.js';
