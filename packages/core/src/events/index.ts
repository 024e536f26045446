export { EventBus, nullSink } from './bus.js';
export { formatDuration, formatEvent, formatProgress } from './format.js';
export { ProgressTracker, type ProgressTrackerOptions } from './progress.js';
export { Redactor } from './redact.js';
export { ConsoleReporter, type ConsoleReporterOptions } from './reporters/console.js';
export { JsonLinesReporter, type JsonLinesReporterOptions } from './reporters/jsonl.js';
export type * from './types.js';
