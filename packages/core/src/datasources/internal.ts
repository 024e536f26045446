// What other folders of core use from datasources/ and a user never needs. Not a package export:
// `index.ts` is the public face, this file the one core's own folders share.
export { checkConnections } from './check.js';
export { checkState, describeStateLocation, openStateStore, stateOptions } from './state.js';
