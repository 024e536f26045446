// What an upgrade says about itself without running: status rows, dry-run entries, resolutions.
import type { ResolveDecision, StageName } from '../model/index.js';
import type { StateStore, StepRecord } from '../state/index.js';
import type { InterruptedRun, LockStatus } from './interrupted.js';
import type { ResumeAction } from './resume.js';

/**
 * Where a step stands for `status`: as recorded, except that a step a dead run left behind is
 * `in_doubt` when only an operator can settle it, and `interrupted` when the next run resumes it by
 * itself (its check, idempotence or exact saved progress).
 */
export type StepStatusView = StepRecord['status'] | 'interrupted';

export interface StepStatusRow {
  readonly id: string;
  readonly stage: StageName;
  readonly host?: string;
  readonly version: string;
  readonly status: StepStatusView;
  readonly criticality: string;
  readonly attempt: number;
  readonly runId?: string;
  readonly startedAt?: number;
  readonly endedAt?: number;
  readonly error?: string;
  /**
   * What the next run does with it, and why: the same decision a run and a dry run take.
   * `needsOperator`: the run stops on it until an operator resolves it.
   */
  readonly next: { readonly action: ResumeAction; readonly reason?: string; readonly needsOperator: boolean };
  /** What the step says of its saved progress (`describeProgress`), e.g. "statement 5 of 12 next". */
  readonly progress?: string;
  /**
   * `false`: recorded by a run of this upgrade, but not a step this program registered — a team
   * script's hook read by the CLI, or one host of a rollout.
   */
  readonly registered?: false;
}

export interface DryRunEntry {
  readonly stage: StageName;
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly host?: string;
  /** `resume`: it runs, continuing from its saved progress. */
  readonly action: 'run' | 'resume' | 'skip' | 'blocked';
  readonly reason?: string;
  readonly summary?: string;
  /** What the step says of its saved progress (`describeProgress`). */
  readonly progress?: string;
}

/** What an operator's decision did (`upgrade.resolve`). */
export interface ResolveResult {
  readonly id: string;
  readonly name: string;
  readonly stage: StageName;
  readonly version: string;
  readonly host?: string;
  readonly decision: ResolveDecision;
  /** Where the step stands now: done, or run by the next run. */
  readonly status: 'succeeded' | 'pending';
  /** One line for the operator, in the words `status` then shows. */
  readonly message: string;
}

export interface ChecksumMismatch {
  readonly id: string;
  readonly stage: StageName;
  readonly version: string;
  readonly host?: string;
  readonly recorded: string;
  readonly current: string;
  readonly runId: string;
}

export interface StatusReport {
  readonly component: string;
  readonly site: string;
  readonly from: string;
  readonly to: string;
  /** Who holds the site lock, whether its process is alive, and when its lock is taken over. */
  readonly lock?: LockStatus;
  /**
   * The run that stopped without finishing — its holder proven dead, or silent past its TTL —
   * reported now rather than by the next run. Its steps show as `in_doubt` or `interrupted`.
   */
  readonly interrupted?: InterruptedRun;
  readonly lastRun?: Awaited<ReturnType<StateStore['runs']>>[number];
  readonly steps: readonly StepStatusRow[];
  /** `inDoubt`: steps only an operator can settle; `interrupted`: steps the next run resumes by itself. */
  readonly counts: Readonly<
    Record<'done' | 'pending' | 'failed' | 'skipped' | 'inDoubt' | 'interrupted' | 'running', number>
  >;
}
