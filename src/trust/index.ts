/** The trust room: a Notary-compatible TUF service and the signed-tags policy. */
export { TrustService, type ChangeView, type ServerRole } from './trust-service.js';
export {
  SignedTagPolicy,
  type TagSignatureView,
  type TagTrustStatus,
} from './signed-tag-policy.js';
export { KeyVault } from './server-keys.js';
export { isValidRole } from './model.js';
export type { TufKey } from './model.js';
export { servedTags } from './served-tags.js';
export { SIGNER_NAME, parseTrustScope } from './policy-scope.js';
export type { TrustFileRecord } from '../meta/index.js';
export type { RequirementSettings, PullVerdict } from './signed-tag-policy.js';
export type { VerificationKeyView } from './signatures/keys.js';
export type { SignatureKind, VerifiedSignature } from './signatures/verifier.js';
export {
  COSIGN_ARTIFACT,
  COSIGN_LAYER,
  COSIGN_SIGNATURE_ANNOTATION,
  cosignTag,
} from './signatures/cosign.js';
export { NOTATION_ARTIFACT, NOTATION_JWS } from './signatures/notation.js';
