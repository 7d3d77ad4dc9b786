/** Table shapes of accounts and access: users and organisations, teams, grants, tokens, signing keys, the audit log. */
import type { Generated } from 'kysely';

/** Users and organisations share one namespace of names. */
export interface AccountsTable {
  id: Generated<number>;
  name: string;
  /** `user` or `org`. */
  kind: string;
  password_hash: string | null;
  email: string | null;
  full_name: string | null;
  is_admin: number;
  disabled: number;
  /** Organisations: the level every member has on every repository (`read`, `write`, `admin`). */
  default_level: string | null;
  created_at: number;
  updated_at: number;
  provider: string | null;
  external_id: string | null;
}

export interface OrgMembersTable {
  org_id: number;
  user_id: number;
  /** `owner` or `member`. */
  role: string;
  created_at: number;
}

export interface TeamsTable {
  id: Generated<number>;
  org_id: number;
  name: string;
  description: string | null;
  created_at: number;
}

export interface TeamMembersTable {
  team_id: number;
  user_id: number;
  created_at: number;
}

export interface GrantsTable {
  id: Generated<number>;
  /** `repository` (a repository name) or `namespace` (every repository of an organisation). */
  target_kind: string;
  target: string;
  /** `user` or `team`. */
  grantee_kind: string;
  grantee_id: number;
  /** `read`, `write` or `admin`. */
  level: string;
  created_at: number;
}

export interface AccessTokensTable {
  id: Generated<number>;
  account_id: number;
  name: string;
  level: string;
  secret_hash: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  last_used_from: string | null;
  revoked_at: number | null;
  repository: string | null;
}

export interface RefreshTokensTable {
  id: Generated<number>;
  account_id: number;
  client_id: string | null;
  secret_hash: string;
  created_at: number;
  expires_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface SigningKeysTable {
  kid: string;
  private_jwk: string;
  public_jwk: string;
  created_at: number;
  retired_at: number | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  actor: string | null;
  action: string;
  target: string | null;
  /** `success`, `failure` or `denied`. */
  outcome: string;
  address: string | null;
  detail: string | null;
}
