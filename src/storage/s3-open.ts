/** Opening the S3 driver on demand, so the AWS SDK loads only when a bucket is configured. */
import type { ContentStore } from './driver.js';
import type { S3Settings } from './s3-driver.js';

/** The S3-compatible content store for `settings`. */
export async function openS3Store(settings: S3Settings): Promise<ContentStore> {
  // The SDK warns at every start that its releases after January 2027 need Node 22; the versions
  // Berth pins run on Node 20, so the warning says nothing about this installation. Setting the
  // variable to anything else shows it again.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { S3ContentStore } = await import('./s3-driver.js');
  return new S3ContentStore(settings);
}
