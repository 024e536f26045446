export { assess } from './assess.js';
export type { AssessOptions, PluginContribution } from './options.js';
export { probeLocal, probeRemote, type RemoteExec } from './probe.js';
export { renderAssessmentJson } from './render/json.js';
export { renderAssessmentMarkdown } from './render/markdown.js';
export { renderAssessmentText, type TextRenderOptions } from './render/text.js';
export type {
  AssessmentReport,
  BackupEstimate,
  CheckResult,
  CheckStatus,
  CompatibilitySection,
  DataQualitySection,
  DiskFigures,
  DurationSection,
  EstimateBasis,
  HostResources,
  IncompatibleEntry,
  QualityResult,
  ResourceNeed,
  ResourcesSection,
  RouteSummary,
  StageEstimate,
  TaskEstimate,
  Verdict,
} from './types.js';
