/** The first start: an administrator named `admin`, with a password from the environment or made up. */
import { randomBytes } from 'node:crypto';
import type { Meta } from '../meta/index.js';
import { hashPassword, passwordProblem } from './passwords.js';

/** What bootstrapping did. */
export type BootstrapResult =
  { created: false } | { created: true; name: string; generatedPassword?: string };

/**
 * Creates the administrator `admin` when no administrator exists. Its password is `password`
 * (from BERTH_ADMIN_PASSWORD) or, without one, generated and returned so it can be shown once.
 */
export async function ensureAdministrator(meta: Meta, password?: string): Promise<BootstrapResult> {
  if ((await meta.accounts.countAdmins()) > 0) return { created: false };
  if (password !== undefined) {
    const problem = passwordProblem(password);
    if (problem) throw new Error(`BERTH_ADMIN_PASSWORD: ${problem}`);
  }
  const chosen = password ?? randomBytes(18).toString('base64url');
  const hash = await hashPassword(chosen);
  // In one write transaction, re-checked: replicas starting together make one administrator.
  const created = await meta.writeTransaction(async (m) => {
    if ((await m.accounts.countAdmins()) > 0) return false;
    const existing = await m.accounts.byName('admin');
    if (existing)
      await m.accounts.update(existing.id, { passwordHash: hash, isAdmin: true, disabled: false });
    else
      await m.accounts.create({ name: 'admin', kind: 'user', passwordHash: hash, isAdmin: true });
    return true;
  });
  if (!created) return { created: false };
  return {
    created: true,
    name: 'admin',
    generatedPassword: password === undefined ? chosen : undefined,
  };
}
