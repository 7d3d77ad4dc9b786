/** Sealing secrets at rest: AES-256-GCM under a 32-byte master key, each bound to a label. */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Seals and opens byte strings; a sealed text opens only with the same key and label. */
export class SecretBox {
  constructor(private readonly masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('the master key must be 32 bytes');
  }

  /** `v1.<iv>.<tag>.<ciphertext>` (base64url) of `secret`, bound to `label`. */
  seal(secret: Buffer, label: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, iv);
    cipher.setAAD(Buffer.from(label));
    const body = Buffer.concat([cipher.update(secret), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url'));
    return `v1.${parts.join('.')}`;
  }

  /** The secret sealed in `sealed` with `label`; throws when it was altered or mislabelled. */
  open(sealed: string, label: string): Buffer {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || body === undefined)
      throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.masterKey, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(label));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
  }

  /** Whether `text` looks sealed (as opposed to a secret stored in the clear by an older version). */
  static isSealed(text: string): boolean {
    return text.startsWith('v1.');
  }
}
