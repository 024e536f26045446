export type { InterruptedRun, LockStatus } from './interrupted.js';
export type { PlannedStep } from './normalize.js';
export type { ResolveInput } from './operator-decision.js';
export {
  type CheckAnswer,
  type CheckUse,
  decideResume,
  type ResumeAction,
  type ResumeDecision,
  type ResumeFacts,
} from './resume.js';
export { formatStageSummary, formatStepLine } from './summary.js';
export type { RunResult, StageResult, StageStatus, StepOutcome, StepResult } from './types.js';
export {
  type ChecksumMismatch,
  createUpgrade,
  type DryRunEntry,
  type ResolveResult,
  type StagedStep,
  type StatusReport,
  type StepStatusRow,
  type StepStatusView,
  Upgrade,
  type UpgradeOptions,
} from './upgrade.js';
