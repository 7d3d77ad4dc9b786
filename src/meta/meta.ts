/** The metadata facade: every store over one database handle, and write transactions. */
import { sql, type Kysely } from 'kysely';
import { AccountStore } from './accounts.js';
import { AuditStore } from './audit.js';
import { BlobIndex } from './blobs.js';
import { CredentialStore } from './credentials.js';
import { GrantStore } from './grants.js';
import { SigningKeyStore } from './signing-keys.js';
import { TeamStore } from './teams.js';
import { GcQueries } from './gc-queries.js';
import { ManifestStore } from './manifests.js';
import { RepositoryStore } from './repositories.js';
import type { Database } from './schema.js';
import { TagStore } from './tags.js';
import { TrustStore } from './trust.js';
import { CatalogQueries } from './catalog.js';
import { LeaseStore } from './leases.js';
import { RetiredNameStore } from './retired-names.js';
import { IdentityProviderStore } from './identity-providers.js';
import { ClusterStore } from './cluster.js';
import { CacheStore } from './cache.js';
import { ReplicationStore } from './replication.js';
import { ImmutableRuleStore } from './immutable-rules.js';
import { QuotaStore } from './quotas.js';
import { RetentionStore } from './retention.js';
import { VerificationKeyStore } from './verification-keys.js';
import { OutboxStore } from './outbox.js';
import { WebhookStore } from './webhooks.js';
import { BuildStore } from './builds.js';
import { UploadStore } from './uploads.js';
import { InlineBlobStore } from './inline-blobs.js';
import { BlobCommitStore } from './blob-commits.js';
import { ManifestCommitStore } from './manifest-commits.js';

/**
 * Whether `err` is the database saying its disk is full (SQLite's SQLITE_FULL, PostgreSQL's
 * disk_full), or a commit that failed for it.
 */
export function isDatabaseFull(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown };
  if (e?.code === 'SQLITE_FULL' || e?.code === '53100') return true;
  if (typeof e?.message === 'string' && /database or disk is full|is its disk full/.test(e.message))
    return true;
  return e?.cause !== undefined && e.cause !== err && isDatabaseFull(e.cause);
}

/** All metadata stores, bound to one database handle or transaction. */
export class Meta {
  readonly repositories: RepositoryStore;
  readonly blobs: BlobIndex;
  readonly manifests: ManifestStore;
  readonly tags: TagStore;
  readonly uploads: UploadStore;
  readonly gc: GcQueries;
  readonly accounts: AccountStore;
  readonly teams: TeamStore;
  readonly grants: GrantStore;
  readonly credentials: CredentialStore;
  readonly signingKeys: SigningKeyStore;
  readonly audit: AuditStore;
  readonly trust: TrustStore;
  readonly catalog: CatalogQueries;
  readonly leases: LeaseStore;
  readonly retiredNames: RetiredNameStore;
  readonly identityProviders: IdentityProviderStore;
  readonly cluster: ClusterStore;
  readonly cache: CacheStore;
  readonly replication: ReplicationStore;
  readonly immutableRules: ImmutableRuleStore;
  readonly quotas: QuotaStore;
  readonly retention: RetentionStore;
  readonly verificationKeys: VerificationKeyStore;
  readonly outbox: OutboxStore;
  readonly webhooks: WebhookStore;
  readonly builds: BuildStore;
  /** Small blobs' bytes kept in the database (used beside an object store, on PostgreSQL). */
  readonly inlineBlobs: InlineBlobStore;
  /** The writes of an uploaded blob's commit, together. */
  readonly blobCommits: BlobCommitStore;
  /** The writes of a pushed manifest's commit, together. */
  readonly manifestCommits: ManifestCommitStore;

  constructor(
    private readonly db: Kysely<Database>,
    /** Which engine: write transactions lock differently. */
    readonly dialect: 'sqlite' | 'postgres' = 'sqlite',
  ) {
    this.repositories = new RepositoryStore(db, dialect);
    this.blobs = new BlobIndex(db);
    this.manifests = new ManifestStore(db);
    this.tags = new TagStore(db);
    this.uploads = new UploadStore(db);
    this.gc = new GcQueries(db);
    this.accounts = new AccountStore(db);
    this.teams = new TeamStore(db);
    this.grants = new GrantStore(db);
    this.credentials = new CredentialStore(db);
    this.signingKeys = new SigningKeyStore(db);
    this.audit = new AuditStore(db);
    this.trust = new TrustStore(db);
    this.catalog = new CatalogQueries(db);
    this.leases = new LeaseStore(db);
    this.retiredNames = new RetiredNameStore(db);
    this.identityProviders = new IdentityProviderStore(db);
    this.cluster = new ClusterStore(db);
    this.cache = new CacheStore(db);
    this.replication = new ReplicationStore(db);
    this.immutableRules = new ImmutableRuleStore(db);
    this.quotas = new QuotaStore(db);
    this.retention = new RetentionStore(db);
    this.verificationKeys = new VerificationKeyStore(db);
    this.outbox = new OutboxStore(db);
    this.webhooks = new WebhookStore(db);
    this.builds = new BuildStore(db);
    this.inlineBlobs = new InlineBlobStore(db);
    this.blobCommits = new BlobCommitStore(db, dialect);
    this.manifestCommits = new ManifestCommitStore(db, dialect, this);
  }

  /**
   * Runs `work` in one transaction that holds the database's write lock from its first statement,
   * so checks made inside it cannot be invalidated by another process before it commits.
   */
  async writeTransaction<T>(work: (meta: Meta) => Promise<T>): Promise<T> {
    let failure: { error: unknown } | undefined;
    try {
      return await this.db.transaction().execute(async (trx) => {
        try {
          // SQLite: the first write takes the database's single write lock. PostgreSQL: one
          // transaction-scoped advisory lock serialises Berth's write transactions across replicas.
          if (this.dialect === 'postgres')
            await sql`select pg_advisory_xact_lock(4242)`.execute(trx);
          else await sql`update blobs set size = size where digest = ''`.execute(trx);
          return await work(new Meta(trx, this.dialect));
        } catch (error) {
          failure = { error };
          throw error;
        }
      });
    } catch (err) {
      // SQLite ends a transaction itself on some errors (a full disk): the ROLLBACK that follows
      // then fails with "no transaction is active", which must not hide the real error.
      if (failure && err !== failure.error) throw failure.error;
      if (/cannot rollback - no transaction is active/.test(String((err as Error).message)))
        throw new Error('the database could not commit; is its disk full?', { cause: err });
      throw err;
    }
  }

  /** A cheap query proving the database answers. */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }
}
