/** The configuration room: schema, loading from file and environment, defaults. */
export { configSchema, type BerthConfig } from './schema.js';
export { DEFAULT_SQLITE_CACHE_BYTES } from './schema-storage.js';
export {
  loadConfig,
  envName,
  sourceFinder,
  treeOf,
  CONFIG_KEYS,
  type ConfigSources,
  type ConfigSource,
} from './load.js';
export {
  UI_SETTING_KEYS,
  settingsChange,
  applySettingsChange,
  type SettingsChange,
  describeSettings,
  describeCertificate,
  type SettingView,
} from './settings.js';
export {
  directoryProviderSchema,
  directoryProviderFields,
  groupMappingSchema,
  DIRECTORY_PRESETS,
  PRESETS,
  type DirectoryPreset,
  type DirectoryProviderSettings,
} from './identity.js';
