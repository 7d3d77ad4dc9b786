/** The HTTP room: the only web-framework code. */
export { buildHttpServer, type HttpDeps } from './server.js';
