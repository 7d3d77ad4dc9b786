/** The services the scale-out benchmark runs Berth on: a private PostgreSQL and a one-node Ceph. */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { freePort } from './servers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PG_BIN = '/usr/lib/postgresql/15/bin';

/** A running service and how to stop it. */
export interface Service<T> {
  value: T;
  stop(): void;
}

function asPostgres(command: string): void {
  const root = process.getuid?.() === 0;
  const result = root
    ? spawnSync('su', ['postgres', '-s', '/bin/sh', '-c', command], { encoding: 'utf8' })
    : spawnSync('sh', ['-c', command], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command}: ${result.stderr}`);
}

/** Starts PostgreSQL 15 in a fresh directory on a free port; the value is its server URL. */
export async function startPostgres(): Promise<Service<string>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-pg-'));
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, uid, uid);
  }
  const port = await freePort();
  asPostgres(`${PG_BIN}/initdb -D ${dir}/data -A trust -U berth >/dev/null`);
  asPostgres(
    `${PG_BIN}/pg_ctl -D ${dir}/data -l ${dir}/log -w -o '-k ${dir} -p ${port} -c listen_addresses=127.0.0.1 -c max_connections=200' start >/dev/null`,
  );
  return {
    value: `postgres://berth@127.0.0.1:${port}`,
    stop: () => {
      asPostgres(`${PG_BIN}/pg_ctl -D ${dir}/data -m fast stop >/dev/null`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Creates database `name` on the server at `url`. */
export function createDatabase(url: string, name: string): string {
  execFileSync('psql', [`${url}/postgres`, '-qc', `create database ${name}`]);
  return `${url}/${name}`;
}

/** Starts a one-node Ceph with its RADOS Gateway (scripts/ceph-s3.sh); the value is its settings. */
export async function startCeph(): Promise<
  Service<{ endpoint: string; accessKeyId: string; secretAccessKey: string }>
> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-ceph-'));
  const script = path.join(ROOT, 'scripts', 'ceph-s3.sh');
  const port = await freePort();
  const env = {
    ...process.env,
    CEPH_S3_PORT: String(port),
    CEPH_S3_MON_PORT: String(52000 + (port % 5000)),
  };
  execFileSync('bash', [script, 'start', dir], { env, stdio: 'ignore' });
  const vars = Object.fromEntries(
    execFileSync('bash', [script, 'env', dir], { env, encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return {
    value: {
      endpoint: `http://127.0.0.1:${port}`,
      accessKeyId: vars.AWS_ACCESS_KEY_ID!,
      secretAccessKey: vars.AWS_SECRET_ACCESS_KEY!,
    },
    stop: () => {
      spawnSync('bash', [script, 'stop', dir], { env, stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Creates bucket `name` on the Ceph gateway. */
export async function createBucket(
  ceph: { endpoint: string; accessKeyId: string; secretAccessKey: string },
  name: string,
): Promise<void> {
  const client = new S3Client({
    endpoint: ceph.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
  });
  await client.send(new CreateBucketCommand({ Bucket: name }));
  // A fresh gateway creates pools at the first object and the first multipart upload written
  // (seconds each): not inside any clock.
  const Bucket = name;
  const Key = 'warm-up';
  await client.send(new PutObjectCommand({ Bucket, Key, Body: 'x' }));
  await client.send(new DeleteObjectCommand({ Bucket, Key }));
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key }));
  await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: 'x' }));
  await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }));
  client.destroy();
}
