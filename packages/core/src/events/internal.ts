// What other folders of core use from events/ and a user never needs. Not a package export:
// `index.ts` is the public face, this file the one core's own folders share.
export { nullSink } from './bus.js';
export { checkArgv } from './command-line.js';
export { formatBytes, formatDuration, formatEngine, formatShortDuration, plural } from './format.js';
export { Redactor } from './redact.js';
export { ASSESSMENT_STEP_PREFIX, ASSESSMENT_VERDICT } from './types.js';
