/** The scope of a signed-tags requirement: a repository or a namespace. */
import { BerthError, isValidName } from '../oci/index.js';

/** A signer's name as `docker trust signer add` makes it (the delegation `targets/<name>`). */
export const SIGNER_NAME = /^[a-z0-9_-]{1,128}$/;

/** `team/app` or `team/` (a namespace), validated; INVALID_REQUEST otherwise. */
export function parseTrustScope(scope: string): string {
  const name = scope.endsWith('/') ? scope.slice(0, -1) : scope;
  if (!isValidName(name))
    throw new BerthError(
      'INVALID_REQUEST',
      `${scope.slice(0, 200)} is neither a repository nor a namespace/`,
    );
  return scope;
}
