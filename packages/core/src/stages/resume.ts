import { anObject, checkArguments } from '../options/index.js';
import type { StepStatus } from '../state/index.js';

/**
 * When a step's own check is asked. A step's `skipIf` asks before every run (already done? then
 * it is skipped); a rollout's `skipIf` only settles a host a crash interrupted.
 */
export type CheckUse = 'none' | 'always' | 'interrupted';

/** What a check said: `unknown` when it could not answer (host unreachable, a bug). */
export type CheckAnswer = 'applied' | 'not-applied' | 'unknown';

/** What is known about one step when deciding what happens to it now. */
export interface ResumeFacts {
  /** As recorded; undefined when it never ran. */
  readonly status: StepStatus | undefined;
  /** The run that recorded `status`. */
  readonly runId?: string;
  /**
   * The run that recorded `status` is alive: it is the run deciding (during a run it holds the
   * site lock), or, for a reader (status, dry run), it holds the site lock now. A `running` or
   * `aborted` step left by a run that is not alive was interrupted.
   */
  readonly runAlive: boolean;
  /** How the last attempt's own log row says it ended, read when the state still says `running`. */
  readonly outcome?: string;
  /**
   * An `aborted` attempt stopped on its cancel and said exactly what it left — rolled back, its
   * resume point saved — so nothing of it is in doubt: it was stopped, not interrupted.
   */
  readonly settled?: boolean;
  readonly idempotent: boolean;
  /** Its content (checksum) differs from the one recorded. */
  readonly changed: boolean;
  readonly check: CheckUse;
  /** The check's answer, once a decision asked for it (`check`). */
  readonly answer?: CheckAnswer;
  /**
   * It saved progress to resume inside itself: what its `describeProgress` says of it ('' when it
   * says nothing). Undefined when no progress is saved.
   */
  readonly progress?: string;
  /**
   * What of its saved progress a crash left in doubt and the step will not settle by itself, in its
   * words (its `progressInDoubt` hook), e.g. "statement 2 of 3 (a.sql:2), which commits on its own,
   * was running". Resuming then stops there and asks an operator. Undefined when there is none.
   */
  readonly progressInDoubt?: string;
}

/**
 * - `run`: from the start. `resume`: it runs, continuing from its saved progress.
 * - `skip`: done (before, per its log row, or per its check).
 * - `blocked`: interrupted, cannot be re-run blindly: an operator decides (`resolve`).
 * - `check`: ask its check, then decide again with the answer.
 */
export type ResumeAction = 'run' | 'resume' | 'skip' | 'blocked' | 'check';

export interface ResumeDecision {
  readonly action: ResumeAction;
  /** Why, in the words run, dry run and status all show. Absent for a first run. */
  readonly reason?: string;
  /** Where the step stands on this decision: what `status` shows. */
  readonly state: StepStatus;
  /**
   * `state` differs from the record and a run writes it: taken from the attempt's own log row (a
   * crash between the two writes that end an attempt), or decided now (check, in-doubt verdict).
   */
  readonly write?: 'from-log' | 'decided';
  /** An earlier run stopped inside it (crash, kill, signal): it may have done part of its work. */
  readonly interrupted: boolean;
  /** Its content changed since it was recorded. */
  readonly changed: boolean;
  /** What a reader should know besides the reason: that its content changed, and what to do. */
  readonly note?: string;
  /**
   * Only an operator can settle it (`resolve`): the run stops on it — before running it
   * (`blocked`), or as it resumes, on the part of its progress in doubt (`resume`). False when the
   * run settles it by itself (a check, idempotence, exact progress).
   */
  readonly needsOperator: boolean;
}

const DONE: ReadonlySet<StepStatus | undefined> = new Set(['succeeded', 'skipped']);

/**
 * What happens to a step now, from what the state says about it. The one decision that a run, a
 * dry run, `status` and a rollout share, so they never disagree. Pure: the caller reads the facts
 * (state row, log row, lock holder) and, when the answer is `check`, asks the check and calls again.
 */
export function decideResume(facts: ResumeFacts): ResumeDecision {
  checkArguments('decideResume', { facts: anObject('{ status, runId, changed, … }') }, { facts });
  const { status, runId, changed } = facts;
  if (DONE.has(status)) {
    return {
      action: 'skip',
      reason: `already done: ${status} in run ${runId}`,
      state: status!,
      interrupted: false,
      needsOperator: false,
      changed,
      // Done is done: a changed file does not run again, but someone should know.
      ...(changed ? { note: 'its content changed since (see validate() and repair())' } : {}),
    };
  }
  const dead = (status === 'running' || (status === 'aborted' && !facts.settled)) && !facts.runAlive;
  if (dead && status === 'running' && facts.outcome === 'succeeded') {
    return {
      action: 'skip',
      reason: `already done: succeeded in run ${runId} (recorded in its log)`,
      state: 'succeeded',
      write: 'from-log',
      interrupted: false,
      needsOperator: false,
      changed,
    };
  }
  // It ended in failure before the process died: simply a failed step.
  if (dead && status === 'running' && facts.outcome === 'failed') {
    return notInterrupted(facts, 'failed', 'from-log');
  }
  if (status === 'in_doubt' || dead) return interrupted(facts);
  return notInterrupted(facts, status ?? 'pending', undefined);
}

function interrupted(facts: ResumeFacts): ResumeDecision {
  // A step already declared in doubt was stopped on by a later run, not interrupted by it.
  const where =
    facts.status === 'in_doubt' ? `in doubt since run ${facts.runId}` : `interrupted in run ${facts.runId}`;
  const base = { interrupted: true, needsOperator: false, ...changedSince(facts) } as const;
  const answer = facts.check === 'none' ? undefined : facts.answer;
  if (facts.check !== 'none' && answer === undefined) {
    return { ...base, action: 'check', reason: `${where}; its check decides`, state: 'in_doubt' };
  }
  if (answer === 'applied') {
    return {
      ...base,
      action: 'skip',
      reason: `${where}; its check found it applied`,
      state: 'succeeded',
      write: 'decided',
    };
  }
  // It runs again, but stops at once on the part of its progress that a crash left in doubt.
  const runsAgain = answer === 'not-applied' || facts.idempotent;
  if (runsAgain && facts.progressInDoubt !== undefined) {
    return {
      ...base,
      action: 'resume',
      reason: `${where}: ${facts.progressInDoubt} and may or may not have taken effect; in doubt until resolved (applied or retry)`,
      state: 'in_doubt',
      needsOperator: true,
    };
  }
  if (answer === 'not-applied') {
    return { ...base, ...runs(facts, `${where}; its check found it not applied`), state: 'in_doubt' };
  }
  // No check, or one that could not answer: only a blanket promise lets it run again. A step with
  // progress of its own resumes from it, exactly: that, not idempotence, is what makes it safe.
  if (facts.idempotent) {
    return {
      ...base,
      ...runs(facts, facts.progress === undefined ? `${where}; idempotent` : where),
      state: 'in_doubt',
    };
  }
  return {
    ...base,
    action: 'blocked',
    reason: `${where} and may or may not have taken effect; in doubt until resolved (applied or retry)`,
    state: 'in_doubt',
    needsOperator: true,
    ...(facts.status === 'in_doubt' ? {} : { write: 'decided' as const }),
  };
}

function notInterrupted(
  facts: ResumeFacts,
  state: StepStatus,
  write: 'from-log' | undefined,
): ResumeDecision {
  const base = { interrupted: false, needsOperator: false, ...changedSince(facts) } as const;
  if (facts.check === 'always' && facts.answer === undefined) {
    return { ...base, action: 'check', reason: 'its check decides', state, ...(write ? { write } : {}) };
  }
  if (facts.check === 'always' && facts.answer === 'applied') {
    return { ...base, action: 'skip', reason: 'skipIf: already done', state: 'skipped', write: 'decided' };
  }
  const why =
    state === 'failed'
      ? `failed in run ${facts.runId}`
      : state === 'aborted'
        ? `stopped in run ${facts.runId}, nothing of it left in doubt`
        : undefined;
  return { ...base, ...runs(facts, why), state, ...(write ? { write } : {}) };
}

/** Runs again: from its saved progress when it has some, else from the start. */
function runs(facts: ResumeFacts, why: string | undefined): { action: 'run' | 'resume'; reason?: string } {
  if (facts.progress === undefined) {
    return why ? { action: 'run', reason: `${why}; runs again` } : { action: 'run' };
  }
  const at = facts.progress ? `resumes: ${facts.progress}` : 'resumes from its saved progress';
  return { action: 'resume', reason: `${why ? `${why}; ` : ''}${at}` };
}

/** A step not done yet whose content changed: its own resume decides whether its progress still holds. */
function changedSince(facts: ResumeFacts): { changed: boolean; note?: string } {
  if (!facts.changed) return { changed: false };
  return { changed: true, note: 'its content changed since its last attempt' };
}
