/** The metadata room: the database, its migrations and the stores over it. */
export { openSqliteDatabase, type OpenDatabase, type SqliteSynchronous } from './database.js';
export { Meta } from './meta.js';
export type { ManifestRecord, ManifestLinks } from './manifests.js';
export type { UploadRecord } from './uploads.js';
export type { RepositoryItem } from './gc-queries.js';
export type { Database } from './schema.js';
