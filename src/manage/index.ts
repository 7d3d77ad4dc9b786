/**
 * The service room: what the management API and the CLI call with an actor, getting views back.
 * HTTP reaches the stores only through it (or through registry, auth and trust).
 */
import type { CatalogService } from './catalog.js';
import type { SystemService } from './system.js';
import type { WebhookService } from './webhooks.js';
import type { BuildService } from './builds.js';
import type { ImmutabilityService } from './immutability.js';
import type { QuotaService } from './quotas.js';
import type { RetentionService } from './retention.js';

export {
  CatalogService,
  CATALOG_SORTS,
  type CatalogSort,
  type CatalogEntry,
  type CatalogQuery,
  type SearchQuery,
  type SearchPage,
  type SignedTag,
} from './catalog.js';
export { BuildService } from './builds.js';
export type {
  BuildConfigInput,
  BuildConfigView,
  BuildView,
  BuildRunnerPort,
} from './build-views.js';
export { SystemService, databaseFull, type RunningSettings } from './system.js';
export { ImmutabilityService, type ImmutableRuleInput } from './immutability.js';
export { QuotaService, type QuotaView, type UsageView } from './quotas.js';
export { RetentionService, type RetentionPolicyInput } from './retention.js';
export {
  WebhookService,
  type WebhookScope,
  type WebhookInput,
  type WebhookView,
  type DeliveryView,
  type DeliveryDetail,
  type Dispatch,
} from './webhooks.js';

/** The services one Berth process offers its management API. */
export interface ManageServices {
  catalog: CatalogService;
  system: SystemService;
  /** Webhook management, when accounts exist (`auth.mode: token`). */
  webhooks?: WebhookService;
  /** Automated builds, when accounts exist. */
  builds?: BuildService;
  /** Immutable-tag rules, when accounts exist. */
  immutability?: ImmutabilityService;
  /** Quotas and usage, when accounts exist. */
  quotas?: QuotaService;
  /** Retention policies, runs and the trash, when accounts exist. */
  retention?: RetentionService;
}
