/** The builds room: automated builds from git through a Docker engine. */
export { BuildRunner, type RunnerSettings, type PushCredentials } from './runner.js';
export { queueBuilds, recordBuildEvent, type TriggerKind } from './queueing.js';
export {
  PROVIDERS,
  readProviderNotice,
  verifyProvider,
  type Provider,
  type PushedRef,
} from './provider-hooks.js';
export { ruleProblem, type BuildRule } from './rules.js';
export { baseImageRebuilds, baseImagesOf } from './base-images.js';
export { remoteRefs, sourceUrlProblem, type GitSource } from './git-source.js';
export type { LogListener } from './live-log.js';
export { openEngine, type EngineAddress } from './engine.js';
