/** A fresh bucket on the S3 store the tests were given (`BERTH_TEST_S3`, a real Ceph RGW). */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3Settings } from '../../src/storage/index.js';

/** The S3 settings `BERTH_TEST_S3` names, with a fresh bucket. */
export async function testBucket(): Promise<S3Settings | undefined> {
  const text = process.env.BERTH_TEST_S3;
  if (!text) return undefined;
  const url = new URL(text);
  const settings = {
    endpoint: `${url.protocol}//${url.host}`,
    accessKeyId: decodeURIComponent(url.username),
    secretAccessKey: decodeURIComponent(url.password),
    region: 'us-east-1',
    forcePathStyle: true,
    bucket: `berth-test-${process.pid}-${randomBytes(3).toString('hex')}`,
    prefix: 'registry/',
    redirectSeconds: 0,
  };
  const client = new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: true,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
  });
  await client.send(new CreateBucketCommand({ Bucket: settings.bucket }));
  client.destroy();
  return settings;
}
