import { ErrorCodes, isUpgradeKitError, UpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import type { ErrorSummary } from '../events/index.js';
import { retry, UpgradeKitRetryError } from '../resilience/index.js';
import type { StepRecord } from '../state/index.js';
import type { Executor } from './executor.js';
import { type PlannedStep, stepNaming } from './normalize.js';
import { decideResume, type ResumeDecision } from './resume.js';
import { resumeFacts } from './resume-facts.js';
import type { StepResult } from './types.js';

// One step, start to end: what the state says to do with it (skip, settle, stop on a part in doubt,
// run), then its attempts under its retry settings, and the result a stage collects.

/** Runs one step, honouring what the state says about it. Never throws for a step failure. */
export async function executeStep(executor: Executor, step: PlannedStep): Promise<StepResult> {
  const inv = executor.invocation;
  const started = performance.now();
  const record = executor.record(step);
  const base = { ...stepNaming(step), criticality: step.criticality };

  try {
    const decision = await decide(executor, step, record);
    if (decision.action === 'blocked') {
      const error = inDoubtError(step, decision, record?.runId);
      await executor.settle(step, record, { ...decision, reason: error.message });
      emitEndUnrun(executor, step, 'in_doubt', started, {
        message: describeError(error).message,
        code: error.code,
      });
      return { ...base, status: 'in_doubt', attempts: 0, durationMs: performance.now() - started, error };
    }
    await executor.settle(step, record, decision);
    if (decision.note) executor.logger(step).warn(`step ${step.id}: ${decision.note}`);
    if (decision.action === 'skip') return skipped(executor, step, decision.reason!, started);
    // Running again what a crash interrupted is worth a line in the log — unless the step is about
    // to stop on the part in doubt: then its own in-doubt report is the one message.
    if (decision.interrupted && !decision.needsOperator)
      executor.logger(step).warn(`step ${step.id}: ${decision.reason}`);
  } catch (error) {
    return {
      ...base,
      status: 'failed',
      attempts: 0,
      durationMs: performance.now() - started,
      error: asError(error),
    };
  }

  let attempts = 0;
  let succeeded = false;
  try {
    await retry(
      async ({ attempt }) => {
        attempts = attempt;
        if (attempt > 1 && step.definition.cleanup)
          await step.definition.cleanup(executor.context(step, attempt, inv.signal));
        await executor.attempt(step, attempt);
        succeeded = true;
      },
      {
        attempts: step.scope === 'step' ? step.retry.attempts : 1,
        minDelayMs: step.retry.minDelayMs,
        maxDelayMs: Math.max(step.retry.maxDelayMs, step.retry.minDelayMs),
        factor: step.retry.factor,
        jitter: step.retry.jitter,
        step: step.id,
        stage: step.stage,
        ...(step.host ? { host: step.host } : {}),
        signal: inv.signal,
        // With one attempt there is no retry to announce: "attempt 1/1 failed; not retried" only
        // repeated the step's own end line.
        ...(step.scope === 'step' && step.retry.attempts > 1 ? { events: inv.events } : {}),
      },
    );
    return { ...base, status: 'succeeded', attempts, durationMs: performance.now() - started };
  } catch (error) {
    // Done (committed) just as a cancel came: that is the truth, and the stage stops after it.
    if (succeeded) return { ...base, status: 'succeeded', attempts, durationMs: performance.now() - started };
    // With a single attempt the retry wrapper adds nothing: report the error itself.
    const reported = attempts <= 1 && error instanceof UpgradeKitRetryError ? error.cause : error;
    const inDoubt = [reported, (reported as { cause?: unknown })?.cause].some((e) =>
      isUpgradeKitError(e, ErrorCodes.IN_DOUBT),
    );
    const status = inv.signal.aborted ? 'aborted' : inDoubt ? 'in_doubt' : 'failed';
    return { ...base, status, attempts, durationMs: performance.now() - started, error: asError(reported) };
  }
}

/** What happens to a step now: the shared resume decision, its check asked when it needs one. */
async function decide(
  executor: Executor,
  step: PlannedStep,
  record: StepRecord | undefined,
): Promise<ResumeDecision> {
  const inv = executor.invocation;
  // The process may have died between writing the attempt's end to the log and to the state.
  const outcome =
    record?.status === 'running' && record.runId !== inv.runId && record.logId !== undefined
      ? await inv.store.attemptOutcome(record.logId)
      : undefined;
  const facts = resumeFacts(step, record, { liveRunId: inv.runId, outcome });
  const decision = decideResume(facts);
  if (decision.action !== 'check') return decision;
  const applied = await step.definition.skipIf!(executor.context(step, 0, inv.signal));
  return decideResume({ ...facts, answer: applied ? 'applied' : 'not-applied' });
}

/**
 * The `step.end` of a step that ended before any attempt (skipped, or stopped on a part in doubt):
 * the attempts report their own ends, so only these two paths emit one here.
 */
function emitEndUnrun(
  executor: Executor,
  step: PlannedStep,
  status: 'skipped' | 'in_doubt',
  started: number,
  error: ErrorSummary,
): void {
  executor.invocation.events.emit({
    type: 'step.end',
    stage: step.stage,
    step: step.id,
    ...(step.host ? { host: step.host } : {}),
    status,
    durationMs: performance.now() - started,
    error,
  });
}

function skipped(executor: Executor, step: PlannedStep, reason: string, started: number): StepResult {
  emitEndUnrun(executor, step, 'skipped', started, { message: reason });
  return {
    ...stepNaming(step),
    status: 'skipped',
    criticality: step.criticality,
    reason,
    attempts: 0,
    durationMs: performance.now() - started,
  };
}

/** Why a run stops at a step that may or may not have taken effect, and how an operator settles it. */
function inDoubtError(
  step: PlannedStep,
  decision: ResumeDecision,
  interruptedRun: string | undefined,
): UpgradeKitError {
  return new UpgradeKitError(
    ErrorCodes.IN_DOUBT,
    // The first line is the headline logs and summaries show; the rest is said once, with the
    // commands that settle it.
    `Step "${step.id}" (stage ${step.stage}${step.host ? `, host ${step.host}` : ''}): ${decision.reason}.\nIt is not idempotent and has no skipIf check, so it is not re-run blindly: inspect it, then resolve it.`,
    {
      context: {
        step: step.id,
        stage: step.stage,
        host: step.host,
        version: step.key.taskVersion,
        interruptedRun,
      },
    },
  );
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
