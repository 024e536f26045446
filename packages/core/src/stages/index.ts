export { assertStage, CHECK_STAGES, STAGES, type StageName, TASK_STAGES } from './names.js';
export type { PlannedStep } from './normalize.js';
export { formatRunMarkdown, formatStageSummary, formatStepLine, markdownCell } from './summary.js';
export type {
  Criticality,
  Hook,
  HookFunction,
  HookMap,
  Hooks,
  HostInfo,
  Logger,
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
  type StagedStep,
  type StatusReport,
  type StepStatusRow,
  Upgrade,
  type UpgradeOptions,
} from './upgrade.js';
