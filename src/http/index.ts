/** The HTTP room: the only web-framework code. */
export { buildHttpServer, buildMetricsServer, type HttpDeps, type HttpOptions } from './server.js';
export { isValidHost } from './host-header.js';
export {
  discardAcceptHelper,
  fanOutAccepts,
  startAcceptHelper,
  type AcceptFanout,
  type AcceptHelper,
} from './accept-fanout.js';
