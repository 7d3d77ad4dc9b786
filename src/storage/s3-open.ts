/** Opening the S3 driver on demand, so the AWS SDK loads only when a bucket is configured. */
import type { ContentStore } from './driver.js';
import type { S3Settings } from './s3-driver.js';

/** The S3-compatible content store for `settings`. */
export async function openS3Store(settings: S3Settings): Promise<ContentStore> {
  const { S3ContentStore } = await import('./s3-driver.js');
  return new S3ContentStore(settings);
}
