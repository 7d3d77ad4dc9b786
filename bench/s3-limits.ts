/**
 * The object store's own ceilings for the scale-out benchmark's uploads, measured in the same run
 * as the registries: the S3 requests an upload cannot do without, sent straight from this process
 * with the bytes already in memory (no HTTP ingress, no hashing, no database). A blob received
 * whole: a multipart upload of 16 MiB parts, four in flight, completed on its key. A chunked
 * upload in 8 MiB chunks: a multipart upload of 8 MiB parts, four in flight, completed, then one
 * server-side copy to the blob's key (its digest is known only at the end). An upload streamed in
 * one PATCH of unannounced length (as docker sends a layer): 16 MiB parts, four in flight,
 * completed on the upload's key, then one copy to the blob's key. A small image: its three
 * blobs (a config, a 4 KiB and a 2 KiB layer) PUT one after the other, as a client pushes them.
 */
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { Figures } from './workloads.js';

const MiB = 1024 * 1024;

/** Where the limits are measured: the gateway and a bucket of its. */
export interface S3Target {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
}

async function multipart(
  client: S3Client,
  bucket: string,
  key: string,
  bytes: Buffer,
  partSize: number,
): Promise<void> {
  const { UploadId } = await client.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }),
  );
  const count = Math.ceil(bytes.length / partSize);
  const parts: { PartNumber: number; ETag?: string }[] = [];
  let next = 0;
  const sender = async (): Promise<void> => {
    while (next < count) {
      const i = next;
      next += 1;
      const body = bytes.subarray(i * partSize, Math.min(bytes.length, (i + 1) * partSize));
      const sent = await client.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          PartNumber: i + 1,
          Body: body,
          ContentLength: body.length,
        }),
      );
      parts[i] = { PartNumber: i + 1, ETag: sent.ETag };
    }
  };
  await Promise.all(Array.from({ length: 4 }, sender));
  await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
}

/**
 * The upload ceilings for a blob of `bytes` (MiB/s) and for `images` small images (images/s),
 * under the benchmark's figure names.
 */
export async function s3UploadLimits(
  target: S3Target,
  bytes: Buffer,
  images: number,
  run: number,
): Promise<Figures> {
  const client = new S3Client({
    endpoint: target.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const keys = [
    `limits/${run}/whole`,
    `limits/${run}/chunks`,
    `limits/${run}/blob`,
    `limits/${run}/streamed`,
    `limits/${run}/streamed-blob`,
  ];
  try {
    const whole = performance.now();
    await multipart(client, target.bucket, keys[0]!, bytes, 16 * MiB);
    const wholeSeconds = (performance.now() - whole) / 1000;
    // A multipart upload of `partSize` parts, then one copy to the blob's key.
    const partsThenCopy = async (from: string, to: string, partSize: number) => {
      const started = performance.now();
      await multipart(client, target.bucket, from, bytes, partSize);
      await client.send(
        new CopyObjectCommand({
          Bucket: target.bucket,
          Key: to,
          CopySource: `${target.bucket}/${from}`,
        }),
      );
      return (performance.now() - started) / 1000;
    };
    const chunkedSeconds = await partsThenCopy(keys[1]!, keys[2]!, 8 * MiB);
    const streamedSeconds = await partsThenCopy(keys[3]!, keys[4]!, 16 * MiB);
    const small = performance.now();
    for (let i = 0; i < images; i += 1)
      for (const [name, size] of [
        ['config', 200],
        ['layer', 4096],
        ['second-layer', 2048],
      ] as const) {
        const key = `limits/${run}/small/${i}/${name}`;
        keys.push(key);
        await client.send(
          new PutObjectCommand({
            Bucket: target.bucket,
            Key: key,
            Body: bytes.subarray(i * 8192, i * 8192 + size),
            ContentLength: size,
          }),
        );
      }
    const smallSeconds = (performance.now() - small) / 1000;
    return {
      'small image pushes /s': images / smallSeconds,
      'upload monolithic MiB/s': bytes.length / MiB / wholeSeconds,
      'upload chunked MiB/s': bytes.length / MiB / chunkedSeconds,
      'upload streamed MiB/s': bytes.length / MiB / streamedSeconds,
    };
  } finally {
    await client
      .send(
        new DeleteObjectsCommand({
          Bucket: target.bucket,
          Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
        }),
      )
      .catch(() => undefined);
    client.destroy();
  }
}
