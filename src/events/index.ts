/** The events room: the event model, the audit log, and webhook deliveries. */
export { AuditLog } from './audit-log.js';
export type { BerthEvent, EventActor, EventTarget, EventType } from './model.js';
export * from './webhooks/index.js';
