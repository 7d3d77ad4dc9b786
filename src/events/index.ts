/** The events room: the event model, the audit log, and webhook deliveries. */
export { AuditLog } from './audit-log.js';
export { OutboxPump, pruneOutbox, type OutboxConsumer, type OutboxHandler } from './outbox-pump.js';
export { auditConsumer, auditEntryOf } from './audit-consumer.js';
export {
  eventOf,
  type BerthEvent,
  type EventActor,
  type EventTarget,
  type EventType,
} from './model.js';
export * from './webhooks/index.js';
