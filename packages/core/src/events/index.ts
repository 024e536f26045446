export { EventBus, nullSink } from './bus.js';
export { commandLine } from './command-line.js';
export {
  formatBytes,
  formatDuration,
  formatEngine,
  formatEvent,
  formatProgress,
  formatShortDuration,
  plural,
} from './format.js';
export { ProgressTracker, type ProgressTrackerOptions } from './progress.js';
export { Redactor } from './redact.js';
export { ConsoleReporter, type ConsoleReporterOptions } from './reporters/console.js';
export { JsonLinesReporter, type JsonLinesReporterOptions } from './reporters/jsonl.js';
export type {
  ErrorSummary,
  EventBase,
  EventInput,
  EventOfType,
  EventSink,
  LogEvent,
  LogLevel,
  ProgressEvent,
  RetryEvent,
  StageEndEvent,
  StageStartEvent,
  StageStatus as StageEventStatus,
  StepEndEvent,
  StepStartEvent,
  StepStatus as StepEventStatus,
  TimeoutWarningEvent,
  UpgradeEvent,
  UpgradeEventType,
} from './types.js';
export { ASSESSMENT_STEP_PREFIX, ASSESSMENT_VERDICT } from './types.js';
