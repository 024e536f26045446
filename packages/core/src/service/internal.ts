// What other folders of core use from service/ and a user never needs. Not a package export:
// `index.ts` is the public face, this file the one core's own folders share.

export { healthCheckSchema } from './health.js';
export { processGroup } from './process-group.js';
export { isCommandRunner } from './runner.js';
