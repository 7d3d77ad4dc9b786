/** The OpenAPI operations of the platform's parts: the control plane, upstreams, caches,
 * replication, immutable tags and identity providers. */
import type { z } from 'zod';
import { identityLink, providerTest } from './api-identity.js';
import { cacheNamespaceBody, upstreamBody } from './api-cache.js';
import { ruleDocument } from './api-replication.js';
import { immutableRule } from './api-immutable.js';
import { quotaBody } from './api-quotas.js';
import { retentionPolicyBody, retentionRunBody } from './api-retention.js';
import {
  admissionRequest,
  collectionBody,
  grantBody,
  joinRequest,
  nodeChange,
  policyBody,
  runRequest,
  scaleRequest,
  serviceRequest,
} from './api-cluster.js';
import { directoryProviderFields } from '../config/index.js';

/** One operation: method, path, summary and the body schema, if any. */
export type OpenApiOperation = [method: string, path: string, summary: string, body?: z.ZodType];

/** The platform's operations, in the order the document lists them. */
export const PLATFORM_OPERATIONS: OpenApiOperation[] = [
  [
    'post',
    '/api/v1/cluster/join',
    'A node joins with a join token and its public key; it gets its certificate (no account)',
    joinRequest,
  ],
  [
    'get',
    '/api/v1/cluster/join-token',
    'The live join token and the CA fingerprint (administrators)',
  ],
  [
    'post',
    '/api/v1/cluster/join-token/rotate',
    'Revoke every join token and make a new one (administrators)',
  ],
  [
    'get',
    '/api/v1/cluster/nodes',
    'Nodes you may view: status (ready, down, unreachable, revoked), engine, labels',
  ],
  ['get', '/api/v1/cluster/nodes/{node}', 'One node'],
  [
    'patch',
    '/api/v1/cluster/nodes/{node}',
    "Change a node's labels or availability (drain)",
    nodeChange,
  ],
  [
    'delete',
    '/api/v1/cluster/nodes/{node}',
    'Remove a node (?revoke=true keeps it listed with its certificate revoked)',
  ],
  [
    'get',
    '/api/v1/cluster/containers',
    'Containers across nodes (?node, ?state, ?q, ?repository), with their Berth image and whether it is signed',
  ],
  [
    'post',
    '/api/v1/cluster/containers',
    'Run a container from an admitted image, pinned to its digest',
    runRequest,
  ],
  ['post', '/api/v1/cluster/containers/{node}/{id}/start', 'Start a container (operate)'],
  ['post', '/api/v1/cluster/containers/{node}/{id}/stop', 'Stop a container (operate)'],
  ['post', '/api/v1/cluster/containers/{node}/{id}/restart', 'Restart a container (operate)'],
  ['delete', '/api/v1/cluster/containers/{node}/{id}', 'Remove a container (full control)'],
  ['get', '/api/v1/cluster/containers/{node}/{id}/logs', 'Logs (?tail; ?follow=true streams them)'],
  [
    'get',
    '/api/v1/cluster/containers/{node}/{id}/stats',
    'Resource use (?stream=true: one JSON line a second)',
  ],
  ['get', '/api/v1/cluster/images', 'Images across nodes (?node)'],
  ['get', '/api/v1/cluster/networks', 'Networks across nodes (?node)'],
  ['get', '/api/v1/cluster/volumes', 'Volumes across nodes (?node)'],
  ['get', '/api/v1/cluster/services', 'Swarm services with their tasks'],
  [
    'post',
    '/api/v1/cluster/services',
    'Deploy a Swarm service from an admitted, pinned image',
    serviceRequest,
  ],
  ['post', '/api/v1/cluster/services/{name}/scale', 'Scale a Swarm service', scaleRequest],
  [
    'post',
    '/api/v1/cluster/admission',
    'What admission decides for an image (a dry run)',
    admissionRequest,
  ],
  ['get', '/api/v1/cluster/collections', 'Collections with their grants (administrators)'],
  [
    'put',
    '/api/v1/cluster/collections/{name}',
    'Save a collection: node and container labels',
    collectionBody,
  ],
  ['delete', '/api/v1/cluster/collections/{name}', 'Remove a collection'],
  [
    'put',
    '/api/v1/cluster/collections/{name}/grants',
    'Grant a team view, operate or full control (null: none)',
    grantBody,
  ],
  ['get', '/api/v1/cluster/policies', 'Admission policies'],
  [
    'put',
    '/api/v1/cluster/policies/{scope}',
    'Set the admission policy of namespace:NAME or collection:NAME',
    policyBody,
  ],
  ['delete', '/api/v1/cluster/policies/{scope}', 'Lift an admission policy'],
  ['get', '/api/v1/immutable-tags', 'Immutable-tag rules'],
  [
    'post',
    '/api/v1/immutable-tags',
    'Add an immutable-tag rule on a repository or namespace (administrators)',
    immutableRule,
  ],
  ['delete', '/api/v1/immutable-tags/{id}', 'Remove an immutable-tag rule (administrators)'],
  ['get', '/api/v1/quotas', 'Every quota with its usage, and the registry total (administrators)'],
  [
    'get',
    '/api/v1/quotas/usage',
    'Usage of ?kind=global|namespace|repository&scope=NAME and the quotas binding it',
  ],
  [
    'put',
    '/api/v1/quotas',
    'Set the quota on the registry, a namespace or a repository',
    quotaBody,
  ],
  ['delete', '/api/v1/quotas', 'Remove the quota on ?kind=&scope= (administrators)'],
  ['get', '/api/v1/retention/policies', 'Retention policies the caller administers'],
  [
    'post',
    '/api/v1/retention/policies',
    'Add a retention policy on a repository or namespace',
    retentionPolicyBody,
  ],
  ['put', '/api/v1/retention/policies/{id}', 'Replace a retention policy', retentionPolicyBody],
  ['delete', '/api/v1/retention/policies/{id}', 'Remove a retention policy'],
  [
    'post',
    '/api/v1/retention/policies/{id}/run',
    'Run a policy now, or dry (lists what would go)',
    retentionRunBody,
  ],
  [
    'get',
    '/api/v1/retention/runs',
    'Runs and dry runs, newest first, with their reports (?policy=ID)',
  ],
  ['get', '/api/v1/retention/trash', 'Tags retention removed, restorable until their window ends'],
  ['post', '/api/v1/retention/trash/{id}/restore', 'Put a removed tag back'],
  ['get', '/api/v1/replication/rules', 'Replication rules (administrators)'],
  [
    'put',
    '/api/v1/replication/rules/{name}',
    'Save a replication rule (push to or pull from an upstream); `enabled` too',
    ruleDocument,
  ],
  ['delete', '/api/v1/replication/rules/{name}', 'Remove a replication rule'],
  ['post', '/api/v1/replication/rules/{name}/run', 'Queue a run of a rule now'],
  ['get', '/api/v1/replication/executions', 'Executions, newest first (?rule=NAME)'],
  ['get', '/api/v1/replication/executions/{id}', 'One execution: per-image progress and its log'],
  ['get', '/api/v1/upstreams', 'Upstream registries (administrators; never their passwords)'],
  [
    'put',
    '/api/v1/upstreams/{name}',
    'Save an upstream: URLs in order, credentials (sealed), CA, bandwidth',
    upstreamBody,
  ],
  ['delete', '/api/v1/upstreams/{name}', 'Remove an upstream no cache uses'],
  [
    'post',
    '/api/v1/upstreams/{name}/test',
    'Check that the upstream answers and takes its credentials',
  ],
  ['get', '/api/v1/cache/namespaces', 'Pull-through cache namespaces'],
  [
    'put',
    '/api/v1/cache/namespaces/{namespace}',
    'Make a namespace a pull-through cache of an upstream',
    cacheNamespaceBody,
  ],
  [
    'delete',
    '/api/v1/cache/namespaces/{namespace}',
    'Stop caching a namespace (its content stays)',
  ],
  [
    'get',
    '/api/v1/identity/providers',
    'Identity providers in login order, local accounts first, with saved ones that cannot be used (administrators)',
  ],
  [
    'post',
    '/api/v1/identity/providers',
    'Save a directory provider (a preset fills in the conventions; the bind password is sealed)',
    directoryProviderFields,
  ],
  [
    'put',
    '/api/v1/identity/providers/{name}',
    'Replace a saved provider (without bindPassword the sealed one is kept)',
    directoryProviderFields,
  ],
  [
    'delete',
    '/api/v1/identity/providers/{name}',
    'Remove a saved provider (refused while accounts belong to it)',
  ],
  [
    'put',
    '/api/v1/users/{name}/identity',
    'Link a user to a directory found by the same login, or make it local again (null)',
    identityLink,
  ],
  [
    'post',
    '/api/v1/identity/providers/{name}/test',
    'Test a provider: bind and search; with a login, the DN, groups and teams that user would get',
    providerTest,
  ],
  [
    'post',
    '/api/v1/identity/sync',
    'Bring directory accounts in step: details and mappings; accounts gone disabled, their tokens revoked',
  ],
];
