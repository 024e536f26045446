// What other folders of core use from errors/ and a user never needs. Not a package export:
// `index.ts` is the public face, this file the one core's own folders share.
export { describeError } from './describe.js';
