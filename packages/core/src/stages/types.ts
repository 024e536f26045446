import type { UpgradeKitError } from '../errors/index.js';
import type { Criticality, StageName } from '../model/index.js';

export type StepOutcome = 'succeeded' | 'skipped' | 'failed' | 'aborted' | 'in_doubt';

export interface StepResult {
  readonly id: string;
  /** What a person calls it: the step's name, or its id. */
  readonly name: string;
  readonly stage: StageName;
  /** The release that introduced it: with the id (and host), what identifies it. */
  readonly version: string;
  readonly host?: string;
  readonly status: StepOutcome;
  readonly criticality: Criticality;
  /** Why it was skipped: it had succeeded before, or its `skipIf` said it was done. */
  readonly reason?: string;
  readonly attempts: number;
  readonly durationMs: number;
  readonly error?: UpgradeKitError | Error;
}

export type StageStatus = 'succeeded' | 'partial' | 'failed' | 'aborted' | 'needs-decision';

export interface StageResult {
  readonly stage: StageName;
  readonly status: StageStatus;
  readonly steps: readonly StepResult[];
  readonly durationMs: number;
  readonly error?: UpgradeKitError | Error;
  /** A core step failed: the operator should consider a rollback. */
  readonly rollbackOffered: boolean;
  /** The process signal that stopped it (`handleSignals`): a CLI exits 128 + its number. */
  readonly signal?: 'SIGINT' | 'SIGTERM';
}

export interface RunResult {
  readonly runId: string;
  readonly status: StageStatus;
  readonly stages: readonly StageResult[];
  readonly durationMs: number;
  readonly error?: UpgradeKitError | Error;
  readonly rollbackOffered: boolean;
  /** The process signal that stopped the run (`handleSignals`): a CLI exits 128 + its number. */
  readonly signal?: 'SIGINT' | 'SIGTERM';
}
