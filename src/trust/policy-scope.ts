/** The scope of a signed-tags requirement: a repository or a namespace. */
import { BerthError, isValidName } from '../oci/index.js';

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
