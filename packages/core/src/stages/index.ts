export { idRepeats } from './identity.js';
export type { InterruptedRun, LockStatus } from './interrupted.js';
export {
  CHECK_STAGES,
  parseStage,
  STAGES,
  type StageAlias,
  type StageInput,
  type StageName,
  stageLabel,
  TASK_STAGES,
  toStage,
  unknownStageMessage,
} from './names.js';
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
export { formatRunMarkdown, formatStageSummary, formatStepLine, markdownCell } from './summary.js';
export type {
  Criticality,
  DatasourceMap,
  Hook,
  HookFunction,
  HookMap,
  Hooks,
  HostInfo,
  Logger,
  ProgressResolution,
  ResolveDecision,
  RetryScope,
  RunResult,
  ServicePhase,
  SiteInfo,
  StageResult,
  StageStatus,
  StepContext,
  StepDefinition,
  StepOutcome,
  StepResult,
  StepRetry,
} from './types.js';
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
