/** The management API's OpenAPI 3.1 document, built from the same schemas the handlers validate with. */
import { z } from 'zod';
import {
  memberRole,
  newOrg,
  newTeam,
  newUser,
  orgChanges,
  teamLevel,
  userChanges,
} from './api-accounts.js';
import { newRepository, newToken, permission, repositoryChanges } from './api-repositories.js';
import { requirementBody } from './api-trust.js';
import { buildLink, buildTrigger } from './api-builds.js';
import { identityLink, providerTest } from './api-identity.js';
import { cacheNamespaceBody, upstreamBody } from './api-cache.js';
import { ruleDocument } from './api-replication.js';
import { immutableRule } from './api-immutable.js';
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
import { hubCallback, newWebhook, secretRotation, webhookChanges } from './api-webhooks.js';
import { signIn, sessionToken } from './api-session.js';
import { directoryProviderFields, settingsChange } from '../config/index.js';

type Op = [method: string, path: string, summary: string, body?: z.ZodType];

const OPERATIONS: Op[] = [
  ['get', '/api/v1/me', 'The signed-in user and their organisations'],
  ['get', '/api/v1/users', 'List users (administrators)'],
  ['post', '/api/v1/users', 'Create a user (administrators)', newUser],
  ['get', '/api/v1/users/{name}', 'Describe a user (themself or administrators)'],
  ['patch', '/api/v1/users/{name}', 'Change password, email, name, admin, disabled', userChanges],
  [
    'delete',
    '/api/v1/users/{name}',
    'Delete a user (administrators); refused while repositories live under the name unless ?repositories=delete or ?repositories=transfer&to=ACCOUNT',
  ],
  ['get', '/api/v1/retired-names', 'Names of deleted accounts, kept reserved (administrators)'],
  [
    'delete',
    '/api/v1/retired-names/{name}',
    "Free a deleted account's name so it can be taken again (administrators)",
  ],
  ['get', '/api/v1/orgs', 'List organisations (all for administrators, else your own)'],
  ['post', '/api/v1/orgs', 'Create an organisation; you become its owner', newOrg],
  ['get', '/api/v1/orgs/{org}', 'Describe an organisation with members and teams'],
  ['patch', '/api/v1/orgs/{org}', "Set the members' default level", orgChanges],
  [
    'delete',
    '/api/v1/orgs/{org}',
    'Delete an organisation (owners); its repositories: ?repositories=delete or transfer&to= (administrators)',
  ],
  [
    'put',
    '/api/v1/orgs/{org}/members/{user}',
    'Add a member or change their role (owners)',
    memberRole,
  ],
  ['delete', '/api/v1/orgs/{org}/members/{user}', 'Remove a member (owners)'],
  ['post', '/api/v1/orgs/{org}/teams', 'Create a team (owners)', newTeam],
  ['get', '/api/v1/orgs/{org}/teams/{team}', 'Describe a team with its members'],
  ['delete', '/api/v1/orgs/{org}/teams/{team}', 'Delete a team (owners)'],
  [
    'put',
    '/api/v1/orgs/{org}/teams/{team}/permission',
    "Set the team's level on every repository of the organisation",
    teamLevel,
  ],
  ['put', '/api/v1/orgs/{org}/teams/{team}/members/{user}', 'Add a user to a team (owners)'],
  [
    'delete',
    '/api/v1/orgs/{org}/teams/{team}/members/{user}',
    'Remove a user from a team (owners)',
  ],
  ['get', '/api/v1/repositories', 'List repositories you may see (?namespace=&last=&n=)'],
  ['post', '/api/v1/repositories', 'Create a repository where you may push', newRepository],
  ['get', '/api/v1/repositories/{name}', 'Describe a repository (name may contain slashes)'],
  [
    'patch',
    '/api/v1/repositories/{name}',
    'Change visibility or description (repository admins)',
    repositoryChanges,
  ],
  ['delete', '/api/v1/repositories/{name}', 'Delete a repository (repository admins)'],
  ['get', '/api/v1/repositories/{name}/_permissions', 'List grants on a repository'],
  [
    'put',
    '/api/v1/repositories/{name}/_permissions',
    'Grant a user or team a level (level null removes)',
    permission,
  ],
  [
    'delete',
    '/api/v1/repositories/{name}/_permissions',
    'Remove a grant (?user= or ?team=org/team)',
  ],
  ['get', '/api/v1/tokens', 'List your access tokens (?user= for administrators)'],
  ['post', '/api/v1/tokens', 'Create an access token; the secret is shown once', newToken],
  ['delete', '/api/v1/tokens/{id}', 'Revoke an access token'],
  ['get', '/api/v1/info', 'Name, version and configured domain (anonymous)'],
  [
    'post',
    '/api/v1/session',
    'Web sign-in: a bearer token, and a refresh token for passwords',
    signIn,
  ],
  ['post', '/api/v1/session/token', 'A fresh bearer token for a refresh token', sessionToken],
  ['delete', '/api/v1/session', 'Sign out: revoke the refresh token', sessionToken],
  [
    'get',
    '/api/v1/catalog',
    'Repositories you may see with size, tags, last push and pulls (?q=&namespace=&visibility=&sort=name|pushed|size|pulls&order=&page=&n=)',
  ],
  ['get', '/api/v1/search', 'Ranked search over names and descriptions (?q=&page=&n=)'],
  [
    'get',
    '/api/v1/images/{name}/tags',
    'Tags with digest, size, platforms, pusher, last pull, signature',
  ],
  [
    'get',
    '/api/v1/images/{name}/manifests/{reference}',
    'A manifest in full: config, layers with history, platforms, referrers',
  ],
  ['delete', '/api/v1/images/{name}/tags/{tag}', 'Delete a tag (repository admins)'],
  ['get', '/api/v1/system', 'Version, health, storage, database, uptime (administrators)'],
  ['get', '/api/v1/system/gc', 'The garbage collection status (administrators)'],
  ['post', '/api/v1/system/gc', 'Start a garbage collection {"dryRun"} (administrators)'],
  ['get', '/api/v1/settings', 'UI-settable settings with the source that wins (administrators)'],
  ['put', '/api/v1/settings', 'Save settings for the next start (administrators)', settingsChange],
  [
    'get',
    '/api/v1/signatures/{name}',
    'Per tag: served digest, whether and by whom it is signed, when, and whether the signing requirement lets it be pulled',
  ],
  ['get', '/api/v1/trust/policies', 'List signed-tags requirements you administer'],
  [
    'put',
    '/api/v1/trust/policies/{scope}',
    'Require signed tags in a repository (team/app) or namespace (team/), optionally by named signers',
    requirementBody,
  ],
  ['delete', '/api/v1/trust/policies/{scope}', 'Lift a signed-tags requirement'],
  ['get', '/api/v1/audit', 'Read the audit log (?actor=&action=&target=&since=&until=&before=&n=)'],
  ['get', '/api/v1/repositories/{name}/_webhooks', "A repository's webhooks (its admins)"],
  [
    'post',
    '/api/v1/repositories/{name}/_webhooks',
    'Add a webhook to a repository; its signing secret is returned once',
    newWebhook,
  ],
  ['get', '/api/v1/namespaces/{namespace}/webhooks', "A user's or organisation's webhooks"],
  [
    'post',
    '/api/v1/namespaces/{namespace}/webhooks',
    'Add a webhook for every repository of a user or organisation (its admins)',
    newWebhook,
  ],
  ['get', '/api/v1/webhooks', 'Global webhooks (administrators)'],
  ['post', '/api/v1/webhooks', 'Add a global webhook (administrators)', newWebhook],
  ['get', '/api/v1/webhooks/{id}', 'Describe a webhook (no secrets)'],
  ['patch', '/api/v1/webhooks/{id}', 'Change a webhook', webhookChanges],
  ['delete', '/api/v1/webhooks/{id}', 'Delete a webhook and its delivery log'],
  [
    'post',
    '/api/v1/webhooks/{id}/secret',
    'Rotate the signing secret; the old one keeps signing for overlapSeconds',
    secretRotation,
  ],
  ['post', '/api/v1/webhooks/{id}/test', 'Send a test event now and answer with the outcome'],
  [
    'get',
    '/api/v1/webhooks/{id}/deliveries',
    'The delivery log, newest first (?state=pending|succeeded|dead&before=&n=)',
  ],
  [
    'get',
    '/api/v1/webhooks/{id}/deliveries/{delivery}',
    'One delivery: body and every attempt (request headers, status, response, latency, error)',
  ],
  ['post', '/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver', 'Queue one delivery again'],
  ['post', '/api/v1/webhooks/{id}/redeliver', 'Queue every dead-lettered delivery again'],
  [
    'post',
    '/api/v1/webhooks/{id}/callbacks/{event}/{token}',
    "Docker Hub's callback_url: the receiver reports success, failure or error (no account)",
    hubCallback,
  ],
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
  [
    'get',
    '/api/v1/repositories/{name}/_build',
    "A repository's git source, rules and webhook URLs",
  ],
  [
    'put',
    '/api/v1/repositories/{name}/_build',
    'Link a repository to a git source with build rules (its admins); the webhook secret is returned once',
    buildLink,
  ],
  ['delete', '/api/v1/repositories/{name}/_build', 'Unlink it (and drop its build history)'],
  [
    'post',
    '/api/v1/repositories/{name}/_build/trigger',
    'Build now: a branch, tag or ref, optionally at one commit',
    buildTrigger,
  ],
  ['post', '/api/v1/repositories/{name}/_build/secret', 'A new webhook secret (shown once)'],
  [
    'get',
    '/api/v1/repositories/{name}/_builds',
    'Build history with queue positions (?before=&n=)',
  ],
  ['get', '/api/v1/builds/{id}', 'One build with its log'],
  ['get', '/api/v1/builds/{id}/log', 'The log as Server-Sent Events, live while it builds'],
  ['post', '/api/v1/builds/{id}/cancel', 'Cancel a queued or running build'],
  [
    'post',
    '/api/v1/build-hooks/{config}/{provider}',
    'Push webhooks of github, gitlab, gitea, bitbucket or generic senders (verified by signature, no account)',
  ],
];

function operation([, path, summary, body]: Op): Record<string, unknown> {
  const parameters = [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const op: Record<string, unknown> = {
    summary,
    parameters,
    responses: {
      '2XX': { description: 'success (JSON, or 204 without a body)' },
      default: { description: 'an error: {"errors":[{"code","message","detail"}]}' },
    },
  };
  if (body)
    op.requestBody = {
      required: true,
      content: { 'application/json': { schema: z.toJSONSchema(body, { io: 'input' }) } },
    };
  return op;
}

/** The OpenAPI document of /api/v1. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) (paths[op[1]] ??= {})[op[0]] = operation(op);
  return {
    openapi: '3.1.0',
    info: { title: 'Berth management API', version },
    components: {
      securitySchemes: {
        basic: {
          type: 'http',
          scheme: 'basic',
          description: 'username and password or access token',
        },
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'an access token or a registry token',
        },
      },
    },
    security: [{ basic: [] }, { bearer: [] }],
    paths,
  };
}
