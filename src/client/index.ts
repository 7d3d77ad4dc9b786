/** The client room: a registry client and the image tools; it depends on src/oci only. */
export { parseImageRef, formatImageRef, referenceOf, type ImageRef } from './image-ref.js';
export {
  dockerConfigPath,
  storedCredentials,
  storeCredentials,
  forgetCredentials,
  type Credentials,
} from './docker-config.js';
export {
  RegistryClient,
  RegistryCallError,
  isIndex,
  type ClientOptions,
  type FetchedManifest,
  type ManifestHead,
} from './registry-client.js';
export {
  copyImage,
  parsePlatform,
  choosePlatform,
  type CopyOptions,
  type CopyResult,
  type Endpoint,
} from './copy.js';
export { inspectImage, type ImageSummary } from './inspect.js';
export { NO_PROGRESS, type Progress } from './progress.js';
export { saveImages, type SaveOptions } from './save.js';
export { loadImages, type LoadOptions } from './load.js';
export { exportImage } from './flatten.js';
export { importRootfs, applyChanges } from './import-rootfs.js';
export { resumingStream, type ResumeOptions } from './resuming-stream.js';
