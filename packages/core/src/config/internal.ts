// What other folders of core use from config/ and a user never needs. Not a package export:
// `index.ts` is the public face, this file the one core's own folders share.
export { backupSettings } from './backup.js';
export { CONNECTION_DEFAULTS, connectionSpec } from './connection.js';
export { DEFAULT_SITE } from './load.js';
export { readableSecrets, resolveSecret } from './secrets.js';
