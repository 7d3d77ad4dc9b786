/**
 * The whole on-disk layout of the filesystem driver, drawn in one place:
 *
 *   <root>/
 *     blobs/<algorithm>/<first two hex>/<hex>   one copy of each blob, shared by all repositories
 *     uploads/<upload id>                       bytes of an upload in progress
 *     claimed/<upload id>/<claim serial>        an upload's bytes once a write took it over from
 *                                               one that may still write (replicas sharing the
 *                                               folder: see `fs-upload-claims.ts`)
 *     trash/<algorithm>-<hex>                   blobs being deleted, restorable until committed
 *
 * The database (`<data>/berth.db`) sits beside `<root>` and says which repository holds what.
 */
import path from 'node:path';

const DIGEST = /^(sha256|sha512):([a-f0-9]{64}|[a-f0-9]{128})$/;
const UPLOAD_ID = /^[a-f0-9-]{36}$/;

function split(digest: string): [string, string] {
  const m = DIGEST.exec(digest);
  if (!m)
    throw new Error(`storage: refusing malformed digest ${JSON.stringify(digest).slice(0, 100)}`);
  return [m[1]!, m[2]!];
}

/** `id`, refused unless it is an upload id. */
function checkedUploadId(id: string): string {
  if (!UPLOAD_ID.test(id))
    throw new Error(`storage: refusing malformed upload id ${JSON.stringify(id).slice(0, 60)}`);
  return id;
}

/** Paths of the filesystem driver under `root`; every path is checked to stay inside it. */
export class FsLayout {
  constructor(readonly root: string) {}

  blob(digest: string): string {
    const [alg, hex] = split(digest);
    return path.join(this.root, 'blobs', alg, hex.slice(0, 2), hex);
  }

  /** The 256 shard folders of `digest`'s algorithm, the folder holding them first. */
  shardFolders(digest: string): { algorithm: string; shards: string[] } {
    const [alg] = split(digest);
    const algorithm = path.join(this.root, 'blobs', alg);
    const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
    return { algorithm, shards: hex.map((h) => path.join(algorithm, h)) };
  }

  uploadData(id: string): string {
    return path.join(this.root, 'uploads', checkedUploadId(id));
  }

  /** The folder of upload `id`'s files written under claims (see `claimedUpload`). */
  claimedUploadDir(id: string): string {
    return path.join(this.claimedDir(), checkedUploadId(id));
  }

  /** The file holding upload `id`'s bytes from the write under claim `serial` on. */
  claimedUpload(id: string, serial: number): string {
    if (!Number.isSafeInteger(serial) || serial < 1)
      throw new Error(`storage: refusing claim serial ${serial}`);
    return path.join(this.claimedUploadDir(id), String(serial));
  }

  claimedDir(): string {
    return path.join(this.root, 'claimed');
  }

  /** The note of the digest an upload is being committed as (see `FsContentStore.commitUpload`). */
  uploadCommitNote(id: string): string {
    return path.join(this.root, 'committing', checkedUploadId(id));
  }

  uploadsDir(): string {
    return path.join(this.root, 'uploads');
  }

  trashDir(): string {
    return path.join(this.root, 'trash');
  }

  trashed(digest: string): string {
    const [alg, hex] = split(digest);
    return path.join(this.trashDir(), `${alg}-${hex}`);
  }

  /** The digest a trash file name stands for. */
  static digestOfTrashName(name: string): string | undefined {
    const m = /^(sha256|sha512)-([a-f0-9]+)$/.exec(name);
    return m ? `${m[1]}:${m[2]}` : undefined;
  }
}
