/** The replication room: upstream registries and the pull-through cache. */
export { PullThroughCache, type CacheMetrics } from './pull-through.js';
export {
  CacheAdmin,
  type UpstreamInput,
  type NamespaceInput,
  type UpstreamView,
} from './cache-admin.js';
export { UpstreamClients, sealUpstreamPassword } from './upstreams.js';
export { Replicator, type LocalRegistry } from './replicator.js';
export { ReplicationAdmin } from './replication-admin.js';
export { ruleSettings, repositoryMatches, tagMatches, type RuleSettings } from './rules.js';
