export type { HolderLiveness, ProcessIdentity, ProcProbe, ProcStat } from './liveness.js';
export { type AcquireLockOptions, type LockAssessment, type LockHolder, SiteLock } from './lock.js';
export type {
  NewRollback,
  RollbackMode,
  RollbackRecord,
  RollbackStatus,
  RollbackStepState,
  RollbackStepStatus,
  RollbackType,
} from './rollbacks.js';

export { type BeginStep, type Dialect, type StateOptions, StateStore } from './store.js';
export type { LogRecord, RunRecord, RunStatus, StepKey, StepRecord, StepStatus } from './types.js';
