/** Account, organisation and team names. */

const ACCOUNT_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** Names no account may take: they would be confused with Berth's own paths. */
const RESERVED = new Set(['v2', 'api', 'token', 'library', 'root', 'anonymous', 'ui', 'static']);

/** A reason `name` cannot be an account or organisation name, or undefined. */
export function accountNameProblem(name: string): string | undefined {
  if (name.length < 2 || name.length > 64) return 'names must be 2 to 64 characters long';
  if (!ACCOUNT_NAME.test(name))
    return 'names use lowercase letters and digits, separated by single ".", "_" or "-"';
  if (RESERVED.has(name)) return `"${name}" is reserved`;
  return undefined;
}

/** A reason `name` cannot be a team name, or undefined. */
export function teamNameProblem(name: string): string | undefined {
  if (name.length < 1 || name.length > 64) return 'team names must be 1 to 64 characters long';
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(name))
    return 'team names use lowercase letters and digits, separated by single ".", "_" or "-"';
  return undefined;
}
