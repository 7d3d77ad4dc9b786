/**
 * A webhook's secrets at rest: its signing secrets (two while one is rotated out) and custom
 * headers are sealed under the master key, each bound to the webhook's id; Docker Hub callback
 * tokens are derived from the same key, so none is stored.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SecretBox } from '../../kit/index.js';

/** One signing secret; one being rotated out expires. */
export interface SigningSecret {
  secret: string;
  /** After this time (ms) the secret no longer signs; null while it is current. */
  expiresAt: number | null;
}

/** Seals and opens webhook secrets, and makes and checks callback tokens. */
export class WebhookSealing {
  private readonly callbackKey: Buffer;

  constructor(
    private readonly box: SecretBox,
    masterKey: Buffer,
  ) {
    this.callbackKey = createHmac('sha256', masterKey).update('berth webhook callbacks').digest();
  }

  /** The sealed text of `secrets` for webhook `id`. */
  sealSecrets(id: number, secrets: SigningSecret[]): string {
    return this.box.seal(Buffer.from(JSON.stringify(secrets)), `webhook:${id}:secrets`);
  }

  /** Every secret of webhook `id`, expired ones included. */
  openSecrets(id: number, sealed: string): SigningSecret[] {
    if (sealed === '') return [];
    return JSON.parse(this.box.open(sealed, `webhook:${id}:secrets`).toString()) as SigningSecret[];
  }

  /** The secrets that sign deliveries at `now`. */
  activeSecrets(id: number, sealed: string, now: number): string[] {
    return this.openSecrets(id, sealed)
      .filter((s) => s.expiresAt === null || s.expiresAt > now)
      .map((s) => s.secret);
  }

  /** The sealed text of custom headers for webhook `id` (null when there are none). */
  sealHeaders(id: number, headers: Record<string, string>): string | null {
    if (Object.keys(headers).length === 0) return null;
    return this.box.seal(Buffer.from(JSON.stringify(headers)), `webhook:${id}:headers`);
  }

  /** The custom headers of webhook `id`. */
  openHeaders(id: number, sealed: string | null): Record<string, string> {
    if (sealed === null) return {};
    const text = this.box.open(sealed, `webhook:${id}:headers`).toString();
    return JSON.parse(text) as Record<string, string>;
  }

  /** The token in the callback URL of webhook `webhookId`'s delivery of event `eventId`. */
  callbackToken(webhookId: number, eventId: number): string {
    return createHmac('sha256', this.callbackKey)
      .update(`${webhookId}:${eventId}`)
      .digest('base64url');
  }

  /** Whether `token` is that callback token (compared in constant time). */
  isCallbackToken(webhookId: number, eventId: number, token: string): boolean {
    const expected = Buffer.from(this.callbackToken(webhookId, eventId));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
