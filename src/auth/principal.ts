/** Who is calling: nobody, or a user (possibly through an access token that caps their rights). */
import type { AccessLevel } from '../meta/index.js';

/** An authenticated user. */
export interface UserPrincipal {
  kind: 'user';
  id: number;
  name: string;
  admin: boolean;
  /** The highest level the credential allows (access tokens), or undefined for full rights. */
  cap?: AccessLevel;
  /** What the credential was: `pw:<account>`, `pat:<token id>`, `rt:<refresh token id>`. */
  session: string;
  /** The one repository the credential is for (a build's push credential); all when absent. */
  repository?: string;
}

/** A caller without credentials. */
export interface AnonymousPrincipal {
  kind: 'anonymous';
}

/** A caller. */
export type Principal = UserPrincipal | AnonymousPrincipal;

/** The anonymous caller. */
export const ANONYMOUS: AnonymousPrincipal = { kind: 'anonymous' };

/**
 * Whether `principal` acts as an administrator now: an administrator whose credential is not an
 * access token capped below `admin` (a read-level token of an administrator only reads).
 */
export function actsAsAdmin(principal: Principal): boolean {
  return (
    principal.kind === 'user' &&
    principal.admin &&
    (principal.cap === undefined || principal.cap === 'admin')
  );
}

/** The name to record for `principal` in logs and the audit log. */
export function principalName(principal: Principal): string | null {
  return principal.kind === 'user' ? principal.name : null;
}
