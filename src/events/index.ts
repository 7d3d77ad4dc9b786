/** The events room: the audit log (and, later, events and webhooks). */
export { AuditLog } from './audit-log.js';
