/** Webhook deliveries: signatures, payload formats, retry pacing and destination checks. */
export {
  newWebhookSecret,
  isWebhookSecret,
  signatureHeaders,
  verifySignature,
} from './signature.js';
export { payloadOf, type PayloadFormat, type Payload, type RepositoryFacts } from './payloads.js';
export {
  nextAttemptAt,
  afterDelivery,
  mayDeliver,
  CLOSED,
  DEFAULT_RETRY,
  type RetryPolicy,
  type Circuit,
} from './retry.js';
export { destinationProblem, type DestinationRules, type Resolver } from './destination.js';
export {
  EVENT_TYPES,
  filtersProblem,
  globPattern,
  receives,
  type WebhookFilters,
  type WebhookInterest,
} from './matching.js';
export { WebhookSealing, type SigningSecret } from './sealing.js';
export { sendDelivery, type DeliveryResponse, type OutgoingDelivery } from './sender.js';
export { webhookFanOut } from './fan-out.js';
export {
  WebhookDispatcher,
  type DispatchSettings,
  type AttemptOutcome,
  type AttemptResult,
} from './dispatcher.js';
