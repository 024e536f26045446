// What other folders of core use from backup/ and a user never needs. Not a package export:
// `index.ts` is the public face, this file the one core's own folders share.

export { pgIdent } from './database-tools.js';
export { asideName } from './databases.js';
export { BACKUP_ID } from './ids.js';
