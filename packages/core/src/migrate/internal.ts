// What other folders of core use from migrate/ and a user never needs. Not a package export:
// `index.ts` is the public face, this file the one core's own folders share.
export { dialectOf, poolQuery, poolRows } from './session.js';
