/**
 * The Docker token endpoint (`/token`): GET with Basic credentials or none, and the OAuth2 POST
 * form (`grant_type=password` or `refresh_token`) that `docker login` uses; plus the JWKS.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseBasic, parseScopes, formatScope, ANONYMOUS } from '../auth/index.js';
import type { AuthService, Principal, ResourceScope, UserPrincipal } from '../auth/index.js';
import { BerthError } from '../oci/index.js';
import { clientAddress } from './auth-edge.js';

function scopesOf(values: string[]): ResourceScope[] {
  try {
    return parseScopes(values);
  } catch (err) {
    throw new BerthError('INVALID_REQUEST', (err as Error).message);
  }
}

function checkService(auth: AuthService, service: string | null): void {
  if (service !== null && service !== '' && service !== auth.settings.service)
    throw new BerthError(
      'INVALID_REQUEST',
      `unknown service ${service.slice(0, 100)}; this is ${auth.settings.service}`,
    );
}

async function basicPrincipal(
  auth: AuthService,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<Principal> {
  const header = req.headers.authorization;
  if (!header) {
    if (!auth.settings.anonymousPull) {
      reply.header('WWW-Authenticate', `Basic realm="${auth.settings.service}"`);
      throw new BerthError('UNAUTHORIZED', 'anonymous access is disabled; log in');
    }
    return ANONYMOUS;
  }
  const [scheme, value] = [
    header.slice(0, header.indexOf(' ')).toLowerCase(),
    header.slice(header.indexOf(' ') + 1),
  ];
  const creds = scheme === 'basic' ? parseBasic(value.trim()) : undefined;
  if (!creds) {
    reply.header('WWW-Authenticate', `Basic realm="${auth.settings.service}"`);
    throw new BerthError('UNAUTHORIZED', 'the token endpoint takes Basic credentials');
  }
  return auth.authenticator.login(creds.username, creds.secret, clientAddress(req));
}

function send(reply: FastifyReply, body: Record<string, unknown>): void {
  reply
    .code(200)
    .header('Content-Type', 'application/json')
    .header('Cache-Control', 'no-store')
    .send(JSON.stringify(body));
}

async function tokenBody(
  auth: AuthService,
  principal: Principal,
  scopes: ResourceScope[],
  refresh: { offline: boolean; clientId: string | null; existing?: string },
): Promise<Record<string, unknown>> {
  const granted = await auth.tokens.grant(principal, scopes);
  const issued = await auth.tokens.issue(principal, granted);
  const body: Record<string, unknown> = {
    token: issued.token,
    access_token: issued.token,
    expires_in: issued.expiresIn,
    issued_at: issued.issuedAt,
    scope: granted.map(formatScope).join(' '),
  };
  const user = principal.kind === 'user' ? (principal as UserPrincipal) : undefined;
  if (refresh.existing) body.refresh_token = refresh.existing;
  else if (refresh.offline && user && user.session.startsWith('pw:'))
    body.refresh_token = (await auth.authenticator.issueRefreshToken(user, refresh.clientId)).text;
  return body;
}

/** GET /token?service=&scope=&offline_token=&client_id= */
async function getToken(
  auth: AuthService,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const query = new URLSearchParams((req.raw.url ?? '').split('?')[1] ?? '');
  checkService(auth, query.get('service'));
  const scopes = scopesOf(query.getAll('scope'));
  const principal = await basicPrincipal(auth, req, reply);
  const account = query.get('account');
  if (account && principal.kind === 'user' && account !== principal.name)
    throw new BerthError('INVALID_REQUEST', `account ${account} does not match the credentials`);
  send(
    reply,
    await tokenBody(auth, principal, scopes, {
      offline: query.get('offline_token') === 'true',
      clientId: query.get('client_id'),
    }),
  );
}

/** POST /token, form-encoded: grant_type=password|refresh_token. */
async function postToken(
  auth: AuthService,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const form = new URLSearchParams(typeof req.body === 'string' ? req.body : '');
  checkService(auth, form.get('service'));
  const scopes = scopesOf(form.getAll('scope'));
  const grantType = form.get('grant_type');
  const clientId = form.get('client_id');
  const address = clientAddress(req);
  if (grantType === 'password') {
    const username = form.get('username');
    const password = form.get('password');
    if (!username || password === null)
      throw new BerthError('INVALID_REQUEST', 'grant_type=password needs username and password');
    const principal = await auth.authenticator.login(username, password, address);
    const offline = form.get('access_type') === 'offline';
    return send(reply, await tokenBody(auth, principal, scopes, { offline, clientId }));
  }
  if (grantType === 'refresh_token') {
    const refreshToken = form.get('refresh_token');
    if (!refreshToken)
      throw new BerthError('INVALID_REQUEST', 'grant_type=refresh_token needs refresh_token');
    const principal = await auth.authenticator.refresh(refreshToken, address);
    return send(
      reply,
      await tokenBody(auth, principal, scopes, {
        offline: false,
        clientId,
        existing: refreshToken,
      }),
    );
  }
  throw new BerthError(
    'INVALID_REQUEST',
    `unsupported grant_type ${String(grantType).slice(0, 50)}`,
  );
}

/** Registers `/token` and the JWKS on `app` (a plugin scope with its own body parser). */
export function registerTokenRoutes(app: FastifyInstance, auth: AuthService): void {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 65_536 },
    (_req, body, done) => done(null, body),
  );
  app.get('/token', (req, reply) => getToken(auth, req, reply));
  app.post('/token', (req, reply) => postToken(auth, req, reply));
  const jwks = (_req: FastifyRequest, reply: FastifyReply): void => {
    reply.header('Content-Type', 'application/json').send(JSON.stringify(auth.keys.jwks()));
  };
  app.get('/token/jwks.json', jwks);
  app.get('/.well-known/jwks.json', jwks);
}
