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
import { requirementBody, verificationKeyBody } from './api-trust.js';
import { buildLink, buildTrigger } from './api-builds.js';
import { hubCallback, newWebhook, secretRotation, webhookChanges } from './api-webhooks.js';
import { signIn, sessionToken } from './api-session.js';
import { settingsChange } from '../config/index.js';
import { PLATFORM_OPERATIONS, type OpenApiOperation } from './api-openapi-platform.js';

type Op = OpenApiOperation;

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
    'A page of tags (?n=&last=) with digest, size, platforms, pusher, last pull, signature; total, next',
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
    'Require signed tags (Notary v1, cosign, Notation) in a repository (team/app) or namespace (team/): N of M named signers, enforce, warn or audit',
    requirementBody,
  ],
  ['delete', '/api/v1/trust/policies/{scope}', 'Lift a signed-tags requirement'],
  ['get', '/api/v1/trust/keys', 'cosign keys and Notation trust-store certificates you administer'],
  [
    'post',
    '/api/v1/trust/keys',
    'Register a cosign public key or a Notation trust-store certificate on a repository or namespace/',
    verificationKeyBody,
  ],
  ['delete', '/api/v1/trust/keys/{id}', 'Remove a signature key'],
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
  ...PLATFORM_OPERATIONS,
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
