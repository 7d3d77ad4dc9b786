/** The HTTP room: the only web-framework code. */
export { buildHttpServer, buildMetricsServer, type HttpDeps, type HttpOptions } from './server.js';
export { isValidHost } from './host-header.js';
export { fanOutAccepts, fanOutWhenBusy, type AcceptFanout } from './accept-fanout.js';
