/** Reading a Notary publish body: `multipart/form-data` with one file part per role. */
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { BerthError } from '../oci/index.js';
import { isValidRole } from '../trust/index.js';

const MAX_PART_BYTES = 16 << 20;
const MAX_PARTS = 1_000;

/**
 * The files of a publish by role (the part's filename without `.json`), each read whole up to
 * 16 MiB. MALFORMED_UPLOAD when the body is not multipart, NO_FILENAME / INVALID_ROLE per part.
 */
export function readMetadataParts(req: IncomingMessage): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        preservePath: true,
        limits: { files: MAX_PARTS, fileSize: MAX_PART_BYTES, fields: MAX_PARTS },
      });
    } catch {
      reject(new BerthError('MALFORMED_UPLOAD', 'the body must be multipart/form-data'));
      return;
    }
    const parts = new Map<string, Buffer>();
    let failure: BerthError | undefined;
    const fail = (err: BerthError): void => {
      failure ??= err;
    };
    parser.on('file', (_field, stream, info) => {
      const role = (info.filename ?? '').replace(/\.json$/, '');
      if (!info.filename) fail(new BerthError('NO_FILENAME'));
      else if (!isValidRole(role)) fail(new BerthError('INVALID_ROLE', undefined, role));
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () =>
        fail(
          new BerthError(
            'MALFORMED_UPLOAD',
            `a metadata file may be at most ${MAX_PART_BYTES} bytes`,
          ),
        ),
      );
      stream.on('end', () => {
        if (info.filename && isValidRole(role)) parts.set(role, Buffer.concat(chunks));
      });
    });
    parser.on('filesLimit', () => fail(new BerthError('MALFORMED_UPLOAD', 'too many parts')));
    parser.on('error', () => reject(failure ?? new BerthError('MALFORMED_UPLOAD')));
    parser.on('close', () => (failure ? reject(failure) : resolve(parts)));
    req.pipe(parser);
  });
}
