/** Reading a Notary publish body: `multipart/form-data` with one file part per role, bounded. */
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { BerthError } from '../oci/index.js';
import { isValidRole } from '../trust/index.js';
import { contentLength } from './request-bits.js';

/** How much of a publish is held in memory. */
export interface PublishLimits {
  /** Bytes of one metadata file. */
  fileBytes: number;
  /** Bytes of the whole request body. */
  totalBytes: number;
}

const MAX_PARTS = 1_000;

function tooLarge(limits: PublishLimits): BerthError {
  return new BerthError(
    'BODY_TOO_LARGE',
    `a publish may be at most ${limits.totalBytes} bytes, each metadata file at most ${limits.fileBytes}`,
  );
}

/**
 * The files of a publish by role (the part's filename without `.json`), each read whole up to
 * `limits.fileBytes`, all of it up to `limits.totalBytes`: a declared length above that is
 * refused (BODY_TOO_LARGE, 413) before a byte is read, an undeclared one when it gets there.
 * MALFORMED_UPLOAD when the body is not multipart, NO_FILENAME / INVALID_ROLE per part.
 */
export function readMetadataParts(
  req: IncomingMessage,
  limits: PublishLimits,
): Promise<Map<string, Buffer>> {
  const declared = contentLength(req);
  if (declared !== undefined && declared > limits.totalBytes)
    return Promise.reject(tooLarge(limits));
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        preservePath: true,
        limits: { files: MAX_PARTS, fileSize: limits.fileBytes, fields: MAX_PARTS },
      });
    } catch {
      reject(new BerthError('MALFORMED_UPLOAD', 'the body must be multipart/form-data'));
      return;
    }
    const parts = new Map<string, Buffer>();
    let failure: BerthError | undefined;
    let received = 0;
    const fail = (err: BerthError): void => {
      failure ??= err;
    };
    const counter = (chunk: Buffer): void => {
      received += chunk.length;
      if (received <= limits.totalBytes) return;
      req.off('data', counter);
      req.unpipe(parser);
      req.pause();
      reject(tooLarge(limits));
    };
    req.on('data', counter);
    parser.on('file', (_field, stream, info) => {
      const role = (info.filename ?? '').replace(/\.json$/, '');
      if (!info.filename) fail(new BerthError('NO_FILENAME'));
      else if (!isValidRole(role)) fail(new BerthError('INVALID_ROLE', undefined, role));
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        if (!failure) chunks.push(chunk);
      });
      stream.on('limit', () => fail(tooLarge(limits)));
      stream.on('end', () => {
        if (!failure && info.filename && isValidRole(role)) parts.set(role, Buffer.concat(chunks));
      });
    });
    parser.on('filesLimit', () => fail(new BerthError('MALFORMED_UPLOAD', 'too many parts')));
    parser.on('error', () => reject(failure ?? new BerthError('MALFORMED_UPLOAD')));
    parser.on('close', () => (failure ? reject(failure) : resolve(parts)));
    req.pipe(parser);
  });
}
