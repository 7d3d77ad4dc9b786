/** Opaque secrets (access and refresh tokens): making them, hashing them, comparing in constant time. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The kinds of opaque token Berth hands out, by prefix. */
export type SecretKind = 'pat' | 'rt';

/** A freshly made secret: the text given to the user once and the hash that is stored. */
export interface MadeSecret {
  secret: string;
  hash: string;
}

/** SHA-256 of `text`, hex. Enough for 256-bit random secrets; passwords use argon2id instead. */
export function hashSecret(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A random secret (256 bits, base64url). */
export function randomSecret(): MadeSecret {
  const secret = randomBytes(32).toString('base64url');
  return { secret, hash: hashSecret(secret) };
}

/** The token text for `kind` with record `id` and `secret`: `berth_<kind>_<id>_<secret>`. */
export function tokenText(kind: SecretKind, id: number, secret: string): string {
  return `berth_${kind}_${id}_${secret}`;
}

/** Splits token text into its record id and secret, or undefined when it is not of `kind`. */
export function parseTokenText(
  kind: SecretKind,
  text: string,
): { id: number; secret: string } | undefined {
  const m = new RegExp(`^berth_${kind}_(\\d{1,15})_([A-Za-z0-9_-]{43})$`).exec(text);
  return m ? { id: Number(m[1]), secret: m[2]! } : undefined;
}

/** Whether `secret` hashes to `storedHash`, compared in constant time. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
