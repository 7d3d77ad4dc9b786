/** The configuration room: schema, loading from file and environment, defaults. */
export { configSchema, type BerthConfig } from './schema.js';
export { loadConfig, envName, CONFIG_KEYS, type ConfigSources } from './load.js';
