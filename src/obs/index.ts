/** The observability room: logger, metrics and request ids. */
export { createCliLogger, createLogger, type Logger } from './logger.js';
export { BerthMetrics } from './metrics.js';
export { requestIdFrom } from './request-id.js';
