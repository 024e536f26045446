/** Fields every event carries. `stage`, `step` and `host` are set when the event belongs to one. */
export interface EventBase {
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly runId?: string;
  readonly stage?: string;
  readonly step?: string;
  readonly host?: string;
}

export type StepStatus = 'succeeded' | 'failed' | 'skipped' | 'aborted' | 'in_doubt';

export interface ErrorSummary {
  readonly message: string;
  readonly code?: string;
}

export interface StageStartEvent extends EventBase {
  readonly type: 'stage.start';
  readonly stage: string;
}

/** `partial`: business steps failed and were skipped; `needs-decision`: a step is in doubt. */
export type StageStatus = 'succeeded' | 'partial' | 'failed' | 'aborted' | 'needs-decision';

export interface StageEndEvent extends EventBase {
  readonly type: 'stage.end';
  readonly stage: string;
  readonly status: StageStatus;
  readonly durationMs: number;
  readonly error?: ErrorSummary;
}

export interface StepStartEvent extends EventBase {
  readonly type: 'step.start';
  readonly step: string;
  readonly attempt?: number;
}

export interface StepEndEvent extends EventBase {
  readonly type: 'step.end';
  readonly step: string;
  readonly status: StepStatus;
  readonly durationMs: number;
  readonly error?: ErrorSummary;
}

export interface RetryEvent extends EventBase {
  readonly type: 'retry';
  /** The attempt that failed, from 1. */
  readonly attempt: number;
  readonly attempts: number;
  readonly decision: 'retry' | 'fail-now';
  /** Why the classifier decided so: `network`, `auth`, `disk-full`, … */
  readonly reason: string;
  /** Wait before the next attempt; absent when no attempt follows. */
  readonly delayMs?: number;
  readonly error: ErrorSummary;
}

export interface TimeoutWarningEvent extends EventBase {
  readonly type: 'timeout.warning';
  /** The fraction of the timeout that has passed (0.85, 0.95). */
  readonly fraction: number;
  readonly elapsedMs: number;
  readonly remainingMs: number;
  readonly timeoutMs: number;
}

export interface ProgressEvent extends EventBase {
  readonly type: 'progress';
  /** What is progressing: a file name, a table, "statements". */
  readonly label: string;
  /** Units done so far; bytes unless `unit` says otherwise. */
  readonly done: number;
  readonly total?: number;
  readonly unit?: 'bytes' | 'items';
  /** Units per second over the recent window. */
  readonly rate?: number;
  readonly percent?: number;
  readonly etaMs?: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogEvent extends EventBase {
  readonly type: 'log';
  readonly level: LogLevel;
  readonly message: string;
  readonly fields?: Readonly<Record<string, unknown>>;
}

/** Everything core reports. Core never writes to stdout or stderr; reporters do. */
export type UpgradeEvent =
  | StageStartEvent
  | StageEndEvent
  | StepStartEvent
  | StepEndEvent
  | RetryEvent
  | TimeoutWarningEvent
  | ProgressEvent
  | LogEvent;

export type UpgradeEventType = UpgradeEvent['type'];
export type EventOfType<T extends UpgradeEventType> = Extract<UpgradeEvent, { type: T }>;

/** What emitting code needs: somewhere to send events. `time` is filled in when omitted. */
export interface EventSink {
  emit(event: EventInput): void;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type EventInput = DistributiveOmit<UpgradeEvent, 'time'> & { readonly time?: number };

/**
 * The assessment's own events: its sections run as steps `assess.resources`, `assess.dataQuality`
 * and `assess.duration` (stage `resourceCheck`), and its verdict is a `log` event whose
 * `fields.kind` is `assessment.verdict`. The console shows the assessment's report instead.
 */
export const ASSESSMENT_STEP_PREFIX = 'assess.';
export const ASSESSMENT_VERDICT = 'assessment.verdict';
