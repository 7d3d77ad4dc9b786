/**
 * Authenticating to one registry the way docker does: answer a `WWW-Authenticate` challenge with a
 * bearer token from the realm (Basic credentials, an identity token, or anonymously), or with Basic
 * credentials directly; tokens are cached per scope until shortly before they expire.
 */
import type { Credentials } from './docker-config.js';
import { readAll, send } from './http-transport.js';

interface Challenge {
  scheme: 'bearer' | 'basic';
  params: Record<string, string>;
}

/** Parses a `WWW-Authenticate` header's first challenge. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return undefined;
  const params: Record<string, string> = {};
  for (const m of header.slice(space + 1).matchAll(/([a-zA-Z_]+)="([^"]*)"/g))
    params[m[1]!.toLowerCase()] = m[2]!;
  return { scheme, params };
}

/** A registry's authentication state. */
export class AuthSession {
  private readonly tokens = new Map<string, { header: string; until: number }>();
  private basic = false;
  /** The registry's last bearer challenge, so tokens can be fetched before being refused. */
  private bearer?: string;

  constructor(private readonly credentials?: Credentials) {}

  /** Whether there are credentials to present (so the challenge is worth learning up front). */
  get hasCredentials(): boolean {
    return this.credentials !== undefined;
  }

  /** Whether a challenge has been learnt. */
  get knowsChallenge(): boolean {
    return this.bearer !== undefined || this.basic;
  }

  /** The Authorization header for `scope`, fetching a token when the challenge is known. */
  async authorization(scope: string): Promise<string | undefined> {
    const known = this.headerFor(scope);
    if (known || !this.bearer) return known;
    await this.answer(this.bearer, scope);
    return this.headerFor(scope);
  }

  /** The Authorization header to send for `scope`, if one is known. */
  headerFor(scope: string): string | undefined {
    const token = this.tokens.get(scope);
    if (token && token.until > Date.now()) return token.header;
    if (this.basic && this.credentials?.kind === 'basic')
      return `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    return undefined;
  }

  /** Answers a 401's challenge for `scope`; false when it cannot be answered. */
  async answer(challengeHeader: string | undefined, scope: string): Promise<boolean> {
    const challenge = parseChallenge(challengeHeader);
    if (!challenge) return false;
    if (challenge.scheme === 'basic') {
      if (this.basic || this.credentials?.kind !== 'basic') return false;
      this.basic = true;
      return true;
    }
    const realm = challenge.params.realm;
    if (!realm) return false;
    this.bearer = challengeHeader;
    const { token, expiresIn } = await this.fetchToken(realm, challenge.params.service, scope);
    this.tokens.set(scope, {
      header: `Bearer ${token}`,
      until: Date.now() + Math.max(10, expiresIn - 10) * 1000,
    });
    return true;
  }

  private async fetchToken(
    realm: string,
    service: string | undefined,
    scope: string,
  ): Promise<{ token: string; expiresIn: number }> {
    const url = new URL(realm);
    const creds = this.credentials;
    let res;
    if (creds?.kind === 'identity-token') {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: creds.token,
        client_id: 'berth',
      });
      if (service) form.set('service', service);
      if (scope) form.set('scope', scope);
      res = await send(
        url,
        'POST',
        { 'content-type': 'application/x-www-form-urlencoded' },
        Buffer.from(form.toString()),
      );
    } else {
      if (service) url.searchParams.set('service', service);
      for (const s of scope.split(' ').filter(Boolean)) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (creds?.kind === 'basic')
        headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      res = await send(url, 'GET', headers);
    }
    const body = await readAll(res);
    if (res.status !== 200) {
      const text = body.toString('utf8');
      const message =
        /"message":"([^"]+)"/.exec(text)?.[1] ??
        /"error_description":"([^"]+)"/.exec(text)?.[1] ??
        text.slice(0, 200);
      throw new Error(
        `${realm}: ${res.status === 401 ? 'login failed' : `token request failed (${res.status})`}: ${message}`,
      );
    }
    const json = JSON.parse(body.toString('utf8')) as {
      token?: string;
      access_token?: string;
      expires_in?: number;
    };
    const token = json.token ?? json.access_token;
    if (!token) throw new Error(`${realm}: the token response holds no token`);
    return { token, expiresIn: json.expires_in ?? 60 };
  }
}
