// The shared vocabulary of core: stage names, criticality, step, record and hook types. The bottom
// layer above errors and events: no logic beyond naming stages, imported by every layer above.
export { nearest } from './nearest.js';
export type { LogRecord, RunRecord, RunStatus, StepKey, StepRecord, StepStatus } from './records.js';
export { parseStage, STAGES, type StageAlias, type StageInput, type StageName } from './stages.js';
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
