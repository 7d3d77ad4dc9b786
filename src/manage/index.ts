/** The service room: what the management API and the CLI call with an actor. */
export {
  WebhookService,
  type WebhookScope,
  type WebhookInput,
  type WebhookView,
  type DeliveryView,
  type DeliveryDetail,
  type Dispatch,
} from './webhooks.js';
