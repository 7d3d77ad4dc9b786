/** The trust room: a Notary-compatible TUF service and the signed-tags policy. */
export {
  TrustService,
  type ChangeView,
  type ServerRole,
  type TagSignatureView,
} from './trust-service.js';
export { KeyVault } from './server-keys.js';
export { loadMasterKey } from './master-key.js';
export { isValidRole } from './model.js';
export type { TufKey } from './model.js';
