/** Reading the small JSON records a store keeps in an upload's session (see `UploadNote.record`). */

/** Whether `n` is a whole number, 0 or more. */
export function whole(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}

/** The JSON object `stored` holds, or undefined when it holds none. */
export function parsed<T extends object>(stored: Buffer | undefined): T | undefined {
  if (!stored) return undefined;
  try {
    const value: unknown = JSON.parse(stored.toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as T) : undefined;
  } catch {
    return undefined;
  }
}
