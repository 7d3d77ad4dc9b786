/** The trust service's errors, in notary-server's codes and detail shapes. */
import { BerthError, type RegistryErrorCode } from '../oci/index.js';

/** The validation failures notary clients know, as `detail.Name`. */
export type ValidationFailure =
  'ErrBadRoot' | 'ErrBadTargets' | 'ErrBadSnapshot' | 'ErrBadHierarchy' | 'ErrValidation';

/** A trust error with `code` (one of the trust codes of the table) and a message. */
export function trustError(
  code: RegistryErrorCode,
  message?: string,
  detail?: unknown,
): BerthError {
  return new BerthError(code, message, detail);
}

/**
 * INVALID_UPDATE with the detail notary clients parse and show:
 * `{"Name":"ErrBadRoot","Error":{"Msg":"…"}}`.
 */
export function invalidUpdate(name: ValidationFailure, msg: string): BerthError {
  return new BerthError('INVALID_UPDATE', `invalid update: ${msg}`, {
    Name: name,
    Error: { Msg: msg },
  });
}
