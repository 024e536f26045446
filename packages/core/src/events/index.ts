export { EventBus } from './bus.js';
export { commandLine } from './command-line.js';
export { ProgressTracker, type ProgressTrackerOptions } from './progress.js';
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
