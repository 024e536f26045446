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

/** How a stage or a whole run ended: the part a run's result shares with each stage's. */
interface Outcome {
  readonly status: StageStatus;
  readonly durationMs: number;
  readonly error?: UpgradeKitError | Error;
  /** A core step failed: the operator should consider a rollback. */
  readonly rollbackOffered: boolean;
  /** The process signal that stopped it (`handleSignals`): a CLI exits 128 + its number. */
  readonly signal?: 'SIGINT' | 'SIGTERM';
}

export interface StageResult extends Outcome {
  readonly stage: StageName;
  readonly steps: readonly StepResult[];
}

export interface RunResult extends Outcome {
  readonly runId: string;
  readonly stages: readonly StageResult[];
}
