/**
 * Whole blobs received by one request, written to their final S3 key without the copy an
 * upload's segments cost at commit, and never visible there before the registry has checked
 * their digest: a small blob waits in an anonymous local file and is PUT at stage; a large one
 * streams as the parts of a multipart upload on its final key, completed at stage (until then the
 * key is untouched; a blob whose digest fails is aborted).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3Objects } from './s3-objects.js';
import type { ReceivedBlob } from './driver.js';
import { finishChunk, type Budget } from '../kit/index.js';
import { PooledPart } from './pooled-part.js';

/** The object a received blob becomes. */
export interface BlobTarget {
  objects: S3Objects;
  key: string;
}

/**
 * Receives `source` into a file in `directory` that is unlinked as soon as it is opened (readable
 * by this process alone, gone with it whatever happens); `stage` PUTs it to the target key.
 */
export async function spooledBlob(
  target: BlobTarget,
  directory: string,
  source: Readable,
  observe: (chunk: Buffer) => void,
): Promise<ReceivedBlob> {
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const file = path.join(directory, `received-${randomUUID()}`);
  const handle = await open(file, 'wx+', 0o600);
  let size = 0;
  let closed = false;
  const drop = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  try {
    await unlink(file);
    for await (const chunk of source) {
      const bytes = chunk as Buffer;
      observe(bytes);
      await handle.write(bytes, 0, bytes.length, size);
      size += bytes.length;
      // Written: the chunk may be freed now (chunk-release.ts), its length read before.
      finishChunk(bytes);
    }
  } catch (err) {
    await drop();
    throw err;
  }
  const put = () =>
    target.objects.client.send(
      new PutObjectCommand({
        Bucket: target.objects.bucket,
        Key: target.key,
        Body:
          size > 0 ? handle.createReadStream({ start: 0, end: size - 1, autoClose: false }) : '',
        ContentLength: size,
      }),
    );
  return {
    size,
    stage: async () => {
      await put();
    },
    confirm: async () => {
      if (!(await target.objects.exists(target.key))) await put();
    },
    drop,
  };
}

/**
 * Streams `source` as parts of `partSize` bytes (larger every thousand parts, so no blob runs
 * out of S3's ten thousand), `parallel` in flight, into a multipart upload of the target key that
 * `stage` completes and `drop` aborts unless it was. A body that ends within its first part (held
 * in memory until then) is one PutObject at stage: no multipart upload at all.
 */
export async function multipartBlob(
  target: BlobTarget,
  source: Readable,
  observe: (chunk: Buffer) => void,
  partSize: number,
  parallel: number,
  /** Bytes of parts in flight across the process: a part waits (its body unread) for room. */
  memory?: Budget,
): Promise<ReceivedBlob> {
  const { client, bucket } = target.objects;
  const { key } = target;
  let uploadId: string | undefined;
  let finished = false;
  const parts: { PartNumber: number; ETag?: string }[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let size = 0;
  /** The part being filled; the whole body when it ended before its first part was full. */
  let pending = new PooledPart();
  const drop = async () => {
    pending.release();
    if (finished) return;
    finished = true;
    await Promise.allSettled(inFlight);
    if (uploadId)
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
        .catch(() => {});
  };
  const send = async (part: PooledPart) => {
    const length = part.length;
    // A free slot first: the next part was read while `parallel` were in flight.
    while (inFlight.size >= parallel) await Promise.race(inFlight);
    try {
      if (failure) throw failure;
      uploadId ??= (
        await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))
      ).UploadId;
    } catch (err) {
      part.release();
      throw err;
    }
    const number = parts.length + 1;
    parts.push({ PartNumber: number });
    await memory?.take(length);
    const sent = client
      .send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: number,
          Body: part.body(),
          ContentLength: length,
        }),
      )
      .then((r) => {
        parts[number - 1]!.ETag = r.ETag;
      })
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => {
        // The gateway answered (or the request failed): nothing reads the part any more.
        part.release();
        inFlight.delete(sent);
        memory?.give(length);
      });
    inFlight.add(sent);
    if (failure) throw failure;
  };
  try {
    for await (const chunk of source) {
      const bytes = chunk as Buffer;
      observe(bytes);
      size += bytes.length;
      pending.add(bytes);
      if (pending.length >= partSize * (1 + Math.floor(parts.length / 1000))) {
        const part = pending;
        pending = new PooledPart();
        await send(part);
      }
    }
    if (pending.length > 0 && uploadId) {
      const part = pending;
      pending = new PooledPart();
      await send(part);
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
  } catch (err) {
    await drop();
    throw err;
  }
  return {
    size,
    stage: async () => {
      if (finished) throw new Error(`the upload of ${key} was dropped`);
      finished = true;
      if (!uploadId) {
        try {
          await client.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: key,
              Body: size > 0 ? pending.body() : '',
              ContentLength: size,
            }),
          );
        } finally {
          pending.release();
        }
        return;
      }
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    },
    confirm: async () => {
      // The parts are gone once completed: a blob collected in between cannot be written again,
      // and the commit fails instead of recording a blob without bytes.
      if (!(await target.objects.exists(target.key)))
        throw new Error(`${key} was removed while it was being stored; push it again`);
    },
    drop,
  };
}
