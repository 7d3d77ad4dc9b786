/** Passwords: argon2id hashes, verification that takes as long for unknown users, and the rules. */
/** argon2 (a native module), loaded on the first hash or verification rather than at start-up. */
let loaded: Promise<typeof import('argon2')> | undefined;
const argon2 = () => (loaded ??= import('argon2'));

/** argon2id's cost parameters (OWASP's: 19 MiB, two passes). */
const OPTIONS = {
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

/** The shortest password accepted. */
export const MIN_PASSWORD_LENGTH = 8;

/** A reason `password` is unacceptable, or undefined when it is fine. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH)
    return `passwords must be at least ${MIN_PASSWORD_LENGTH} characters long`;
  if (password.length > 1024) return 'passwords must be at most 1024 characters long';
  return undefined;
}

/** The argon2id hash (PHC string) of `password`. */
export async function hashPassword(password: string): Promise<string> {
  const { hash, argon2id } = await argon2();
  return hash(password, { ...OPTIONS, type: argon2id });
}

let dummyHash: Promise<string> | undefined;

/**
 * Whether `password` matches `hash`. With no hash (unknown user, organisation) it still spends
 * the time of one verification, so response times do not reveal which names exist.
 */
export async function verifyPassword(hash: string | null, password: string): Promise<boolean> {
  if (!hash) {
    dummyHash ??= hashPassword('berth-unknown-account-placeholder');
    const { verify } = await argon2();
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  const { verify } = await argon2();
  return verify(hash, password).catch(() => false);
}
