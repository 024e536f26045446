import type { UpgradeKitError } from '../errors/index.js';
import type { EventSink } from '../events/index.js';
import type { RollbackMode, RollbackRecord, RollbackStepState, RollbackType } from '../state/index.js';
import type { KeptCopy } from './asides.js';
import type { BackupHost } from './host.js';
import type { BackupManifest } from './manifest.js';

/** Seed 004 §4.4.2.2's six steps. */
export const ROLLBACK_STEPS = Object.freeze([
  { step: 1, id: 'stop-services', name: 'Stop services' },
  { step: 2, id: 'restore-database', name: 'Restore databases' },
  { step: 3, id: 'restore-program', name: 'Restore the program directory' },
  { step: 4, id: 'restore-config', name: 'Restore system configuration' },
  { step: 5, id: 'start-services', name: 'Start services' },
  { step: 6, id: 'verify', name: 'Verify the rollback' },
] as const);

export interface RollbackHookContext {
  readonly rollbackId: string;
  readonly backupId: string;
  readonly manifest: BackupManifest;
  readonly host: BackupHost;
  readonly mode: RollbackMode;
  readonly step: number;
  readonly signal: AbortSignal;
  readonly events: EventSink;
}

export type RollbackHook = (ctx: RollbackHookContext) => unknown;

export interface RollbackHooks {
  /** Step 1. Without it, the step is recorded as skipped (the operator stopped them). */
  readonly stopServices?: RollbackHook;
  /** Step 5. */
  readonly startServices?: RollbackHook;
  /** Step 6, besides the database and file checks: e.g. a health URL. Throw to fail. */
  readonly verify?: RollbackHook;
}

/** Whether a backup's upgrade allows keeping the data, and why (for the log). */
export interface RollbackModeChoice {
  readonly compatible: boolean;
  readonly reason: string;
}

export interface RollbackStartOptions {
  /**
   * The upgrade only added things (seed 000 §8.4, "compatible rollback"): restore program files and
   * configuration, keep the data. Or a function judging the chosen backup's upgrade — what
   * `rollbackModeFromRelease` gives from the release's `additive` tasks (see docs/backup.md).
   */
  readonly compatible?: boolean | ((manifest: BackupManifest) => RollbackModeChoice);
}

export interface RollbackStepReport {
  readonly step: number;
  readonly id: string;
  readonly name: string;
  readonly status: RollbackStepState['status'];
  readonly durationMs?: number;
  readonly reason?: string;
  readonly error?: string;
}

export type RollbackOutcome =
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'needs-decision'
  | 'in-progress'
  | 'abandoned';

/** What a rollback command did. Never thrown half-way: a failed step is in `steps` and `error`. */
export interface RollbackResult {
  readonly status: RollbackOutcome;
  readonly rollbackId?: string;
  readonly backupId?: string;
  readonly type?: RollbackType;
  /** `full` or `compatible`: which kind of rollback was done. */
  readonly mode?: RollbackMode;
  /** The rollback continued one that was interrupted. */
  readonly continued: boolean;
  readonly steps: readonly RollbackStepReport[];
  /** For manual rollbacks and failures: the step to run next. */
  readonly nextStep?: number;
  /** Pre-rollback copies of paths still on disk (removed once step 6 verifies). */
  readonly asides: readonly string[];
  /** Every pre-rollback copy kept now — paths and databases — with where it is and, for a path, how to put it back. */
  readonly kept: readonly KeptCopy[];
  readonly message: string;
  readonly durationMs: number;
  readonly error?: UpgradeKitError;
}

export interface RollbackStatusReport {
  /** The unfinished rollback, or else the latest one. */
  readonly rollback?: RollbackRecord;
  readonly unfinished: boolean;
  readonly nextStep?: number;
  readonly steps: readonly RollbackStepReport[];
  readonly asides: readonly string[];
  readonly kept: readonly KeptCopy[];
}

export const DONE = new Set(['succeeded', 'skipped']);

export function stepReports(record: RollbackRecord | undefined): RollbackStepReport[] {
  return ROLLBACK_STEPS.map(({ step, id, name }) => {
    const state = record?.steps[step] ?? { status: 'pending' as const };
    return {
      step,
      id,
      name,
      status: state.status,
      ...(state.startedAt && state.endedAt ? { durationMs: state.endedAt - state.startedAt } : {}),
      ...(state.reason ? { reason: state.reason } : {}),
      ...(state.error ? { error: state.error } : {}),
    };
  });
}

export function nextStepOf(record: RollbackRecord): number | undefined {
  return ROLLBACK_STEPS.find(({ step }) => !DONE.has(record.steps[step]?.status ?? 'pending'))?.step;
}

export function pendingSteps(): Record<number, RollbackStepState> {
  return Object.fromEntries(ROLLBACK_STEPS.map(({ step }) => [step, { status: 'pending' }]));
}
