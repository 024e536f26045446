// What other folders of core use from state/ and a user never needs. Not a package export:
// `index.ts` is the public face, this file the one core's own folders share.
export { holderIdentity, holderLiveness, procProbe } from './liveness.js';
export { describeTakeover } from './lock.js';
export { RollbackHistory } from './rollbacks.js';
export { stepKeyString } from './types.js';
