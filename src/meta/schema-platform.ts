/** Table shapes of the platform's parts: directories, the control plane, caches and replication. */
import type { Generated } from 'kysely';

export interface IdentityProvidersTable {
  name: string;
  position: number;
  /** JSON: the provider's settings without its bind password. */
  settings: string;
  sealed_bind_password: string;
  updated_by: string | null;
  updated_at: number;
}

export interface ClusterCaTable {
  id: number;
  certificate: string;
  sealed_key: string;
  created_at: number;
}

export interface ClusterJoinTokensTable {
  id: string;
  secret_hash: string;
  sealed_token: string;
  created_by: string | null;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

export interface ClusterNodesTable {
  id: string;
  name: string;
  labels: string;
  engine: string;
  certificate: string;
  cert_serial: string;
  availability: string;
  engine_ok: number;
  engine_error: string | null;
  mem_free: number | null;
  joined_at: number;
  last_seen: number;
  revoked_at: number | null;
}

export interface ClusterInventoryTable {
  node_id: string;
  snapshot: string;
  updated_at: number;
}

export interface ClusterCollectionsTable {
  name: string;
  node_labels: string;
  container_labels: string;
  created_at: number;
}

export interface ClusterGrantsTable {
  collection: string;
  team_id: number;
  level: string;
}

export interface ClusterPoliciesTable {
  scope: string;
  signed_only: number;
  signers: string;
  berth_only: number;
  created_by: string | null;
  created_at: number;
}

export interface UpstreamsTable {
  name: string;
  urls: string;
  username: string | null;
  sealed_password: string | null;
  ca: string | null;
  bandwidth: number | null;
  created_at: number;
}

export interface CacheNamespacesTable {
  namespace: string;
  upstream: string;
  upstream_prefix: string;
  freshness: number;
  local_first: number;
  mirror: number;
  created_at: number;
}

export interface CacheTagsTable {
  repository: string;
  tag: string;
  checked_at: number;
}

export interface ReplicationRulesTable {
  id: Generated<number>;
  name: string;
  settings: string;
  enabled: number;
  last_run_at: number;
  created_by: string | null;
  created_at: number;
}

export interface ReplicationExecutionsTable {
  id: Generated<number>;
  rule_id: number;
  trigger: string;
  only: string | null;
  state: string;
  items: string;
  log: string;
  queued_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface ImmutableRulesTable {
  id: Generated<number>;
  scope: string;
  patterns: string;
  exclusions: string;
  created_by: string | null;
  created_at: number;
}

export interface QuotasTable {
  kind: string;
  scope: string;
  storage_soft: number | null;
  storage_hard: number | null;
  repositories_max: number | null;
  tags_max: number | null;
  updated_by: string | null;
  updated_at: number;
}

export interface RetentionPoliciesTable {
  id: Generated<number>;
  scope: string;
  rules: string;
  every_hours: number | null;
  restore_days: number;
  enabled: number;
  last_run_at: number;
  created_by: string | null;
  created_at: number;
}

export interface RetentionRunsTable {
  id: Generated<number>;
  policy_id: number;
  trigger: string;
  dry_run: number;
  started_at: number;
  finished_at: number | null;
  removed: number;
  kept: number;
  report: string;
  error: string | null;
}

export interface RetentionTrashTable {
  id: Generated<number>;
  repository_id: number;
  repository: string;
  tag: string;
  digest: string;
  run_id: number;
  pushed_at: number;
  removed_at: number;
  restore_until: number;
}

export interface VerificationKeysTable {
  id: Generated<number>;
  scope: string;
  kind: string;
  name: string;
  material: string;
  created_by: string | null;
  created_at: number;
}
