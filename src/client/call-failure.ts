/** A registry's refusal as an error: its HTTP status and its own OCI error code and message. */
import { readAll, type HttpResponse } from './http-transport.js';

/** A failed registry call: the HTTP status and the registry's own error code, when it gave one. */
export class RegistryCallError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'RegistryCallError';
  }
}

/** The error for answer `res` to `method` on `where` (`registry/path`), read from its OCI error body. */
export async function callFailure(
  res: HttpResponse,
  method: string,
  where: string,
): Promise<RegistryCallError> {
  const text =
    method === 'HEAD'
      ? ''
      : (await readAll(res, 65_536).catch(() => Buffer.alloc(0))).toString('utf8');
  let code: string | undefined;
  let message = text.slice(0, 200) || `HTTP ${res.status}`;
  try {
    const first = (JSON.parse(text) as { errors?: { code: string; message: string }[] })
      .errors?.[0];
    if (first) {
      code = first.code;
      message = `${first.code}: ${first.message}`;
    }
  } catch {
    // not an OCI error body
  }
  return new RegistryCallError(`${where}: ${message}`, res.status, code);
}
