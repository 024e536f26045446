// What the state store records: steps, runs and their log rows. Types only.
/** Where a step stands. `running` and `aborted` left behind by a dead run mean "in doubt". */
export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'aborted' | 'in_doubt';

/** What identifies a step across runs: it never runs again once it succeeded under this key. */
export interface StepKey {
  readonly component: string;
  readonly site: string;
  /** '' for steps that do not belong to one host. */
  readonly host: string;
  /** The release that introduced the task; for hooks, the target version. */
  readonly taskVersion: string;
  readonly taskId: string;
}

export interface StepRecord extends StepKey {
  readonly taskName: string;
  readonly stage: string;
  readonly status: StepStatus;
  readonly runId: string;
  readonly attempt: number;
  readonly checksum?: string;
  /**
   * The step changed application data (a migration): a compatible rollback keeps it done.
   * Undefined for steps recorded before state schema 3.
   */
  readonly changesData?: boolean;
  readonly error?: string;
  /** The failure as fields (state schema 4): code, the server's code and message, file, line, statement k of n. */
  readonly errorDetail?: Readonly<Record<string, unknown>>;
  /** Opaque progress a step saved for resuming inside itself (e.g. the next SQL statement). */
  readonly progress?: string;
  readonly startedAt?: number;
  readonly endedAt?: number;
  /** The `upgrade_log` row of the latest attempt. */
  readonly logId?: number;
}

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'aborted' | 'needs-decision' | 'partial';

export interface RunRecord {
  readonly runId: string;
  readonly component: string;
  readonly site: string;
  readonly versionFrom: string;
  readonly versionTo: string;
  readonly status: RunStatus;
  readonly host: string;
  readonly pid: number;
  /** The runner's process identity (state schema 5; liveness.ts): boot id, PID namespace, start time in ticks. */
  readonly bootId?: string;
  readonly pidNamespace?: string;
  readonly startTime?: number;
  readonly startedAt: number;
  readonly endedAt?: number;
  readonly error?: string;
}

/** One row of `upgrade_log`: one attempt of one step, or an operator decision about it. */
export interface LogRecord extends StepKey {
  readonly id: number;
  readonly runId: string;
  readonly taskName: string;
  readonly versionFrom: string;
  readonly versionTo: string;
  readonly stage: string;
  readonly status: string;
  readonly attempt: number;
  readonly checksum?: string;
  readonly error?: string;
  readonly errorDetail?: Readonly<Record<string, unknown>>;
  readonly startTime: number;
  readonly endTime?: number;
  readonly durationMs?: number;
}
