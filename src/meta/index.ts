/** The metadata room: the database, its migrations and the stores over it. */
export {
  openSqliteDatabase,
  openPostgresDatabase,
  type OpenDatabase,
  type SqliteSynchronous,
} from './database.js';
export { resilientPool } from './postgres-pool.js';
export { withStatementCache } from './statement-cache.js';
export { PreparedQuery } from './prepared-query.js';
export { Meta, isDatabaseFull } from './meta.js';
export type { ManifestRecord, ManifestLinks } from './manifests.js';
export type { UploadRecord } from './uploads.js';
export type { RepositoryItem } from './gc-queries.js';
export type { Database } from './schema.js';
export type {
  AccessLevel,
  AccountKind,
  AccountRecord,
  AccountPatch,
  Membership,
  NewAccount,
  OrgRole,
} from './accounts.js';
export type { TeamRecord, TeamMembership } from './teams.js';
export type { Grantee, GrantRecord, GrantTarget } from './grants.js';
export type { AccessTokenRecord, RefreshTokenRecord } from './credentials.js';
export type { SigningKeyRecord } from './signing-keys.js';
export type { RetiredName } from './retired-names.js';
export type { StoredProvider } from './identity-providers.js';
export type { UpstreamRecord, CacheNamespaceRecord } from './cache.js';
export type { ImmutableRuleRecord } from './immutable-rules.js';
export type { QuotaKind, QuotaLimits, QuotaRecord, QuotaUsage } from './quotas.js';
export type {
  RetentionPolicyRecord,
  RetentionRunRecord,
  TrashRecord,
  TagFacts,
} from './retention.js';
export type { VerificationKeyRecord } from './verification-keys.js';
export type {
  ReplicationRuleRecord,
  ReplicationExecutionRecord,
  ReplicationItem,
} from './replication.js';
export type {
  NodeRecord,
  JoinTokenRecord,
  CollectionRecord,
  AdmissionPolicyRecord,
} from './cluster.js';
export type { OutboxEvent } from './outbox.js';
export type {
  WebhookRecord,
  WebhookScopeKind,
  NewWebhook,
  WebhookPatch,
  DeliveryRecord,
  DeliveryState,
  NewDelivery,
  AttemptRecord,
  DeliveryOutcome,
} from './webhook-records.js';
export type {
  BuildConfigRecord,
  BuildConfigPatch,
  BuildRecord,
  BuildState,
  NewBuild,
} from './builds.js';
export type { AuditEntry, AuditFilter, AuditOutcome } from './audit.js';
export type { RepositoryInfo, Visibility, ListingScope, ListingFilter } from './repositories.js';
export type {
  TrustFileRecord,
  TrustKeyRecord,
  TrustChangeRecord,
  TrustPolicyRecord,
} from './trust.js';
export type { RepositoryStats, TagDetailRow, PullCounts } from './catalog.js';
export { exportLines, importLines } from './transfer.js';
