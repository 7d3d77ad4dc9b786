/** The CLI room: commands and the composition root. */
export { main } from './main.js';
export { composeBerth, type Berth } from './compose.js';
export { databaseFile, openDatabase } from './compose-stores.js';
export { makeSelfSignedCertificate } from './dev-certificate.js';
