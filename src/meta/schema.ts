/** The database tables as Kysely sees them. Times are milliseconds since the epoch. */
import type { Generated } from 'kysely';
import type {
  IdentityProvidersTable,
  ClusterCaTable,
  ClusterJoinTokensTable,
  ClusterNodesTable,
  ClusterInventoryTable,
  ClusterCollectionsTable,
  ClusterGrantsTable,
  ClusterPoliciesTable,
  UpstreamsTable,
  CacheNamespacesTable,
  CacheTagsTable,
  ReplicationRulesTable,
  ReplicationExecutionsTable,
  ImmutableRulesTable,
  QuotasTable,
  RetentionPoliciesTable,
  RetentionRunsTable,
  RetentionTrashTable,
  VerificationKeysTable,
} from './schema-platform.js';
import type {
  AccountsTable,
  OrgMembersTable,
  TeamsTable,
  TeamMembersTable,
  GrantsTable,
  AccessTokensTable,
  RefreshTokensTable,
  SigningKeysTable,
  AuditLogTable,
} from './schema-accounts.js';
import type {
  TrustFilesTable,
  TrustKeysTable,
  TrustChangesTable,
  TrustPoliciesTable,
} from './schema-trust.js';

export interface RepositoriesTable {
  id: Generated<number>;
  name: string;
  created_at: number;
  /** `public` or `private`. */
  visibility: Generated<string>;
  description: string | null;
  created_by: string | null;
  pulls: Generated<number>;
  last_pulled_at: number | null;
}

export interface BlobsTable {
  digest: string;
  size: number;
  created_at: number;
}

export interface RepositoryBlobsTable {
  repository_id: number;
  digest: string;
  created_at: number;
}

export interface ManifestsTable {
  repository_id: number;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  subject: string | null;
  annotations: string | null;
  size: number;
  content: Uint8Array;
  created_at: number;
}

export interface ManifestBlobsTable {
  repository_id: number;
  manifest_digest: string;
  blob_digest: string;
}

export interface ManifestChildrenTable {
  repository_id: number;
  manifest_digest: string;
  child_digest: string;
}

export interface TagsTable {
  repository_id: number;
  name: string;
  manifest_digest: string;
  updated_at: number;
  pushed_by: string | null;
  last_pulled_at: number | null;
}

export interface UploadsTable {
  id: string;
  repository_id: number;
  /** Who opened the upload (an account name, or `address:<ip>`); null for older uploads. */
  owner: string | null;
  size: number;
  created_at: number;
  updated_at: number;
  /** The upload's bytes while they are few enough to be kept here (see `UploadRecord.held`). */
  held: Buffer | null;
  /** The running SHA-256 state of the upload's bytes (see `UploadRecord.hashState`). */
  hash_state: Buffer | null;
  /** Who holds the claim on the upload's next write, and until when (ms): see `claimAppend`. */
  append_token: string | null;
  append_until: number | null;
  /** Advanced by each claim on the upload's next write (see `UploadRecord.note`). */
  claim_serial: Generated<number>;
  /** The content store's record of the upload (see `UploadRecord.note`). */
  store_record: Buffer | null;
}

export interface SettingsTable {
  key: string;
  /** JSON. */
  value: string;
  updated_by: string | null;
  updated_at: number;
}

/** The one row counting blob removals (migration 0019). */
export interface BlobRemovalsTable {
  id: number;
  count: number;
}

/** A small blob's bytes kept in the database (migration 0020). */
export interface InlineBlobsTable {
  digest: string;
  content: Buffer;
  /** 1 while a collection has set the blob aside. */
  trashed: Generated<number>;
}

export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: number;
}

/** Every table of the database. */
export interface RetiredNamesTable {
  name: string;
  kind: string;
  retired_at: number;
  retired_by: string | null;
}

export interface EventsTable {
  id: Generated<number>;
  at: number;
  type: string;
  repository: string | null;
  actor: string;
  target: string;
  outcome: string;
}

export interface EventCursorsTable {
  consumer: string;
  last_id: number;
  updated_at: number;
}

export interface WebhooksTable {
  id: Generated<number>;
  scope_kind: string;
  scope: string;
  url: string;
  format: string;
  events: string;
  filters: string;
  secrets: string;
  headers: string | null;
  ca_cert: string | null;
  description: string | null;
  enabled: number;
  created_by: string | null;
  created_at: number;
  circuit_failures: number;
  circuit_open_until: number;
}

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  webhook_id: number;
  event_id: number | null;
  event_type: string;
  created_at: number;
  window_start: number;
  state: string;
  attempts: number;
  next_attempt_at: number;
  last_status: number | null;
  last_error: string | null;
  finished_at: number | null;
  content_type: string;
  body: string;
  callback_state: string | null;
  callback_description: string | null;
  callback_at: number | null;
}

export interface WebhookAttemptsTable {
  id: Generated<number>;
  delivery_id: number;
  at: number;
  request_headers: string;
  status: number | null;
  response_headers: string | null;
  response_body: string | null;
  latency_ms: number;
  error: string | null;
}

export interface BuildConfigsTable {
  id: Generated<number>;
  repository: string;
  source_url: string;
  credentials: string | null;
  default_branch: string | null;
  rules: string;
  paths: string;
  poll_seconds: number;
  rebuild_on_base: number;
  hook_secret: string;
  owner: string;
  enabled: number;
  failures: number;
  disabled_reason: string | null;
  polled: string;
  polled_at: number;
  created_at: number;
}

export interface BuildsTable {
  id: Generated<number>;
  config_id: number;
  repository: string;
  namespace: string;
  ref: string;
  commit_sha: string;
  plan: string;
  trigger: string;
  state: string;
  attempts: number;
  queued_at: number;
  started_at: number | null;
  finished_at: number | null;
  digest: string | null;
  bases: string | null;
  error: string | null;
  log: string;
  holder: string | null;
  lease_until: number | null;
  cancel_requested: number;
}

export interface Database {
  repositories: RepositoriesTable;
  blobs: BlobsTable;
  repository_blobs: RepositoryBlobsTable;
  manifests: ManifestsTable;
  manifest_blobs: ManifestBlobsTable;
  manifest_children: ManifestChildrenTable;
  tags: TagsTable;
  uploads: UploadsTable;
  accounts: AccountsTable;
  org_members: OrgMembersTable;
  teams: TeamsTable;
  team_members: TeamMembersTable;
  grants: GrantsTable;
  access_tokens: AccessTokensTable;
  refresh_tokens: RefreshTokensTable;
  signing_keys: SigningKeysTable;
  audit_log: AuditLogTable;
  trust_files: TrustFilesTable;
  trust_keys: TrustKeysTable;
  trust_changes: TrustChangesTable;
  trust_policies: TrustPoliciesTable;
  settings: SettingsTable;
  leases: LeasesTable;
  blob_removals: BlobRemovalsTable;
  inline_blobs: InlineBlobsTable;
  retired_names: RetiredNamesTable;
  identity_providers: IdentityProvidersTable;
  cluster_ca: ClusterCaTable;
  cluster_join_tokens: ClusterJoinTokensTable;
  cluster_nodes: ClusterNodesTable;
  cluster_inventory: ClusterInventoryTable;
  cluster_collections: ClusterCollectionsTable;
  cluster_grants: ClusterGrantsTable;
  cluster_policies: ClusterPoliciesTable;
  upstreams: UpstreamsTable;
  cache_namespaces: CacheNamespacesTable;
  cache_tags: CacheTagsTable;
  replication_rules: ReplicationRulesTable;
  replication_executions: ReplicationExecutionsTable;
  immutable_rules: ImmutableRulesTable;
  quotas: QuotasTable;
  retention_policies: RetentionPoliciesTable;
  retention_runs: RetentionRunsTable;
  retention_trash: RetentionTrashTable;
  verification_keys: VerificationKeysTable;
  events: EventsTable;
  event_cursors: EventCursorsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  build_configs: BuildConfigsTable;
  builds: BuildsTable;
}
