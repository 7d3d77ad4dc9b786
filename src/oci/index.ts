/** The OCI room: pure knowledge of digests, names, media types, manifests and error codes. */
export * from './errors.js';
export * from './reference.js';
export * from './digest.js';
export * from './media-types.js';
export * from './manifest.js';
