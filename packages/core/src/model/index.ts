// The shared vocabulary of core: stage names, criticality, step, record and hook types. The bottom
// layer above errors and events: no logic beyond naming stages, imported by every layer above.
export { nearest } from './nearest.js';
export type { LogRecord, RunRecord, RunStatus, StepKey, StepRecord, StepStatus } from './records.js';
export {
  CHECK_STAGES,
  parseStage,
  STAGE_SPELLINGS,
  STAGES,
  type StageAlias,
  type StageInput,
  type StageName,
  stageLabel,
  TASK_STAGES,
  toStage,
  unknownStageMessage,
} from './stages.js';
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
  ServicePhase,
  SiteInfo,
  StepContext,
  StepDefinition,
  StepRetry,
  TimeoutCategory,
} from './step.js';
