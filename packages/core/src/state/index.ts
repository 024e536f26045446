export {
  type HolderLiveness,
  holderIdentity,
  holderLiveness,
  type ProcessIdentity,
  type ProcProbe,
  type ProcStat,
  parseProcStat,
  procProbe,
  provablyDead,
} from './liveness.js';
export {
  type AcquireLockOptions,
  describeTakeover,
  type LockAssessment,
  type LockHolder,
  SiteLock,
} from './lock.js';
export {
  type NewRollback,
  RollbackHistory,
  type RollbackMode,
  type RollbackRecord,
  type RollbackStatus,
  type RollbackStepState,
  type RollbackStepStatus,
  type RollbackType,
} from './rollbacks.js';
export { SCHEMA_VERSION } from './schema.js';
export { type BeginStep, type Dialect, type StateOptions, StateStore } from './store.js';
export type { LogRecord, RunRecord, RunStatus, StepKey, StepRecord, StepStatus } from './types.js';
