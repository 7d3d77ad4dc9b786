/**
 * Web sign-in through the management API: a password (or an access token) buys a short-lived
 * bearer token plus, for passwords, a refresh token the browser keeps instead of the password;
 * signing out revokes it.
 */
import { z } from 'zod';
import type { RouteTable } from './lazy-routes.js';
import type { AuthService, UserPrincipal } from '../auth/index.js';
import { bodyOf, json, noContent } from './api-common.js';
import { clientAddress } from './auth-edge.js';

export const signIn = z
  .object({ username: z.string().min(1), password: z.string().min(1) })
  .strict();
export const sessionToken = z.object({ refreshToken: z.string().min(1) }).strict();

/** A management-session bearer for `principal`: valid on /api/v1 only, ending with its session. */
async function bearerFor(auth: AuthService, principal: UserPrincipal) {
  const issued = await auth.tokens.issue(principal, [], 'management');
  return { token: issued.token, expiresIn: issued.expiresIn };
}

/** Registers POST/DELETE /api/v1/session and POST /api/v1/session/token. */
export function registerSessionRoutes(app: RouteTable, auth: AuthService): void {
  app.post('/api/v1/session', async (req, reply) => {
    const { username, password } = bodyOf(signIn, req);
    const principal = await auth.authenticator.login(username, password, clientAddress(req));
    // A password sign-in starts a refresh-token session; the bearer belongs to it, so signing
    // out ends both.
    const started = principal.session.startsWith('pw:')
      ? await auth.authenticator.issueRefreshToken(principal, 'berth-web')
      : undefined;
    json(reply, {
      user: { name: principal.name, admin: principal.admin },
      ...(await bearerFor(auth, started?.session ?? principal)),
      refreshToken: started?.text ?? null,
    });
  });
  app.post('/api/v1/session/token', async (req, reply) => {
    const { refreshToken } = bodyOf(sessionToken, req);
    const principal = await auth.authenticator.refresh(refreshToken, clientAddress(req));
    json(reply, {
      user: { name: principal.name, admin: principal.admin },
      ...(await bearerFor(auth, principal)),
    });
  });
  app.delete('/api/v1/session', async (req, reply) => {
    const { refreshToken } = bodyOf(sessionToken, req);
    await auth.authenticator.endRefreshToken(refreshToken, clientAddress(req));
    noContent(reply);
  });
}
