/**
 * Signing webhook deliveries the Standard Webhooks way: headers `webhook-id`, `webhook-timestamp`
 * (seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one
 * signature per active secret (two while a secret is rotated). Secrets are `whsec_<base64>`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'whsec_';

/** A new random signing secret (`whsec_` and 32 random bytes, base64). */
export function newWebhookSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The key bytes of `secret`; throws when it is not a `whsec_` secret of 24 to 64 bytes. */
function keyOf(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) throw new Error('webhook secrets start with whsec_');
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
  if (key.length < 24 || key.length > 64) throw new Error('webhook secrets hold 24 to 64 bytes');
  return key;
}

/** Whether `secret` is a well-formed signing secret. */
export function isWebhookSecret(secret: string): boolean {
  try {
    keyOf(secret);
    return true;
  } catch {
    return false;
  }
}

function sign(key: Buffer, id: string, timestamp: number, body: string | Buffer): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
}

/** The signing headers of a delivery of `body` as message `id` at `timestamp` (seconds). */
export function signatureHeaders(
  secrets: string[],
  id: string,
  timestamp: number,
  body: string | Buffer,
): Record<string, string> {
  if (secrets.length === 0) throw new Error('a signed delivery needs at least one secret');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((s) => `v1,${sign(keyOf(s), id, timestamp, body)}`).join(' '),
  };
}

/**
 * Whether `headers` carry a valid signature of `body` by `secret`, made within `toleranceSeconds`
 * of `now` (seconds). What a receiver runs; compares in constant time.
 */
export function verifySignature(
  secret: string,
  headers: Record<string, string | undefined>,
  body: string | Buffer,
  now = Math.floor(Date.now() / 1000),
  toleranceSeconds = 300,
): boolean {
  const id = headers['webhook-id'];
  const timestamp = Number(headers['webhook-timestamp']);
  const signatures = headers['webhook-signature'];
  if (!id || !Number.isInteger(timestamp) || !signatures) return false;
  if (Math.abs(now - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(sign(keyOf(secret), id, timestamp, body));
  return signatures.split(' ').some((entry) => {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || !value) return false;
    const given = Buffer.from(value);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
