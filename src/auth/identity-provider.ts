/**
 * The one interface every identity provider answers to. Local accounts are the built-in
 * provider (`local`, their password hashes in Berth's database); directories — LDAP, Active
 * Directory, FreeIPA — are the others, tried in their order for names no local account holds.
 */

/** A user as a directory describes them. */
export interface DirectoryUser {
  provider: string;
  /** The directory's stable id for the user (entryUUID, objectGUID as hex, or the DN). */
  id: string;
  login: string;
  dn: string;
  email: string | null;
  fullName: string | null;
  /** Group DNs (and names, for matching mappings by name). */
  groups: string[];
}

/** The directory could not be reached or answered with an error. */
export class DirectoryDown extends Error {}

/** What a provider says of itself (no secrets). */
export interface ProviderDescription {
  name: string;
  kind: 'local' | 'ldap';
  preset: string | null;
  urls: string[];
  userBase: string | null;
  groups: string | null;
}

/** A directory users log in through. Methods throw DirectoryDown when it cannot answer. */
export interface IdentityProvider {
  readonly name: string;
  /** The user `login` with password `password`, or undefined when either is wrong. */
  authenticate(login: string, password: string): Promise<DirectoryUser | undefined>;
  /** The user `login` if the directory still has them under stable id `id`, or undefined. */
  lookup(id: string, login: string): Promise<DirectoryUser | undefined>;
  /** The user called `login` (no password check), or undefined. */
  lookupByLogin(login: string): Promise<DirectoryUser | undefined>;
  /** Checks the service credentials and the user search: where it answered and how many users. */
  testConnection(): Promise<{ url: string; users: number }>;
  describe(): ProviderDescription;
}

/** The built-in provider of local accounts, as listed beside the directories. */
export const LOCAL_PROVIDER: ProviderDescription = {
  name: 'local',
  kind: 'local',
  preset: null,
  urls: [],
  userBase: null,
  groups: null,
};
