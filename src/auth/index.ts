/** The auth room: identities, passwords, access tokens, the Docker token service and the policy. */
export { AuthService, type AuthSettings } from './auth-service.js';
export { TokenKeys } from './token-keys.js';
export { ensureAdministrator, type BootstrapResult } from './bootstrap.js';
export { localActor, type Actor } from './directory-common.js';
export { markAudited, wasAudited, type AuditRecord, type AuditSink } from './ports.js';
export {
  ANONYMOUS,
  actsAsAdmin,
  principalName,
  type Principal,
  type UserPrincipal,
} from './principal.js';
export type { Caller, Refusal } from './request-auth.js';
export { parseBasic } from './request-auth.js';
export { parseScopes, formatScope, type ResourceScope } from './scope.js';
export type { RepositoryAction } from './policy.js';
export type { NamespaceDisposal } from './namespaces.js';
export type { TokenAudience } from './token-service.js';
export type { UserView, NewUser, UserChanges } from './users.js';
export type { OrgView, TeamView } from './organisations.js';
export type { RepositoryView, PermissionView } from './repositories.js';
export type { AccessTokenView } from './access-tokens.js';
export { LdapProvider, type LdapSettings, type GroupStrategy } from './ldap-provider.js';
export {
  bindPasswordLabel,
  type ConfiguredProvider,
  type GroupMapping,
} from './provider-catalog.js';
export {
  DirectoryDown,
  LOCAL_PROVIDER,
  type DirectoryUser,
  type IdentityProvider,
  type ProviderDescription,
} from './identity-provider.js';
