/** The CLI room: commands and the composition root. */
export { main } from './main.js';
export { composeBerth, databaseFile, type Berth } from './compose.js';
export { makeSelfSignedCertificate } from './dev-certificate.js';
