// What other folders of core use from stages/ and a user never needs. Not a package export:
// `index.ts` is the public face, this file the one core's own folders share.

export { idRepeats } from './identity.js';
export { stateAccess } from './state-access.js';
export { formatRunMarkdown, markdownCell } from './summary.js';
