// What other folders of core use from plan/ and a user never needs. Not a package export:
// `index.ts` is the public face, this file the one core's own folders share.
export { formatPlanMarkdown } from './markdown.js';
export { isRoute } from './route.js';
