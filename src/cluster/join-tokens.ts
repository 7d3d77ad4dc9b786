/**
 * Join tokens: `bjt1.<CA fingerprint prefix>.<id>.<secret>`. A node presents one to join; the
 * fingerprint lets it check, before trusting anything the controller sends back, that the CA it
 * is handed is the one the token was made for. Only the secret's hash decides; the whole token is
 * kept sealed so an administrator can be shown it again until it is rotated. Tokens expire.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SecretBox } from '../kit/index.js';
import type { JoinTokenRecord, Meta } from '../meta/index.js';

const LABEL = 'cluster:join-token';
const PATTERN = /^bjt1\.([0-9a-f]{16})\.([0-9a-f]{8})\.([A-Za-z0-9_-]{43})$/;

const hashOf = (secret: string): string => createHash('sha256').update(secret).digest('hex');

/** The parts of a join token's text; undefined when it is not one. */
export function parseJoinToken(
  token: string,
): { fingerprint: string; id: string; secret: string } | undefined {
  const m = PATTERN.exec(token.trim());
  return m ? { fingerprint: m[1]!, id: m[2]!, secret: m[3]! } : undefined;
}

/** Makes, shows, rotates and checks join tokens. */
export class JoinTokens {
  constructor(
    private readonly meta: Meta,
    private readonly box: SecretBox,
    /** The cluster CA's fingerprint, asked for only when a token is made or checked. */
    private readonly caFingerprint: () => Promise<string>,
  ) {}

  /** The live token (made when there is none), with its expiry. */
  async current(
    ttlMs: number,
    by: string | null,
    now = Date.now(),
  ): Promise<{ token: string; expiresAt: number }> {
    const live = await this.meta.cluster.liveJoinToken(now);
    if (live) return { token: this.open(live), expiresAt: live.expiresAt };
    return this.make(ttlMs, by, now);
  }

  /** Revokes every token and makes a new one. */
  async rotate(
    ttlMs: number,
    by: string | null,
    now = Date.now(),
  ): Promise<{ token: string; expiresAt: number }> {
    await this.meta.cluster.revokeJoinTokens(now);
    return this.make(ttlMs, by, now);
  }

  /** Why `token` cannot join now, or undefined when it can. */
  async refusal(token: string, now = Date.now()): Promise<string | undefined> {
    const parts = parseJoinToken(token);
    if (!parts) return 'not a join token';
    if (parts.fingerprint !== (await this.caFingerprint()).slice(0, 16))
      return 'the join token is for another cluster';
    const record = await this.meta.cluster.joinToken(parts.id);
    const expected = Buffer.from(record?.secretHash ?? hashOf('none'), 'hex');
    const given = Buffer.from(hashOf(parts.secret), 'hex');
    if (!record || !timingSafeEqual(expected, given)) return 'unknown join token';
    if (record.revokedAt !== null) return 'the join token was rotated';
    if (record.expiresAt <= now) return 'the join token has expired';
    return undefined;
  }

  private async make(ttlMs: number, by: string | null, now: number) {
    const id = randomBytes(4).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const token = `bjt1.${(await this.caFingerprint()).slice(0, 16)}.${id}.${secret}`;
    const expiresAt = now + ttlMs;
    await this.meta.cluster.addJoinToken({
      id,
      secretHash: hashOf(secret),
      sealedToken: this.box.seal(Buffer.from(token), LABEL),
      createdBy: by,
      createdAt: now,
      expiresAt,
    });
    return { token, expiresAt };
  }

  private open(record: JoinTokenRecord): string {
    return this.box.open(record.sealedToken, LABEL).toString();
  }
}
