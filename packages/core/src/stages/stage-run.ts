import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, isUpgradeKitError, UpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import type { StageName } from '../model/index.js';
import { backoffDelay } from '../resilience/internal.js';
import type { Executor } from './executor.js';
import { type PlannedStep, scopeTarget } from './normalize.js';
import { asError, executeStep } from './step-run.js';
import type { StageResult, StageStatus, StepResult } from './types.js';

// A stage's loop: its steps in order, each step's failure weighed by criticality and retry scope
// (a restart from an earlier step, of the whole run, or a round with the stage's other failed
// checks), and the stage's status from what its steps did.

/** Thrown out of a stage when a `run`-scoped step fails and has restarts left. */
export class RestartRun extends Error {
  constructor(
    readonly step: PlannedStep,
    readonly failure: Error | undefined,
  ) {
    super(`restart the run after ${step.id} failed`);
  }
}

/**
 * Runs the steps of a stage: skips what is done, settles what is in doubt, retries by scope,
 * and applies criticality. Throws `RestartRun` when a `run`-scoped step asks for the run again.
 */
export async function runStage(
  executor: Executor,
  stage: StageName,
  steps: readonly PlannedStep[],
): Promise<StageResult> {
  const inv = executor.invocation;
  const started = performance.now();
  const results = new Map<PlannedStep, StepResult>();
  inv.events.emit({ type: 'stage.start', stage });

  const finish = (status: StageStatus, error?: Error, rollbackOffered = false): StageResult => {
    const durationMs = performance.now() - started;
    const ordered = steps.filter((s) => results.has(s)).map((s) => results.get(s)!);
    inv.events.emit({
      type: 'stage.end',
      stage,
      status,
      durationMs,
      ...(error
        ? {
            error: {
              message: describeError(error).message,
              ...(isUpgradeKitError(error) ? { code: error.code } : {}),
            },
          }
        : {}),
    });
    return { stage, status, steps: ordered, durationMs, ...(error ? { error } : {}), rollbackOffered };
  };
  const coreFailure = (failed: readonly StepResult[]): UpgradeKitError => {
    const lines = failed.map(
      // The whole message, indented: a timeout's diagnosis or a command's stderr is the point.
      (r) =>
        `  - ${r.id}${r.host ? ` on ${r.host}` : ''}: ${(r.error?.message ?? '').replace(/\n/g, '\n    ')}`,
    );
    return new UpgradeKitError(
      ErrorCodes.STEP_FAILED,
      `Stage ${stage} stopped: ${failed.length === 1 ? 'a core step' : `${failed.length} core steps`} failed.\n${lines.join('\n')}\nThe upgrade is halted; fix the cause and run again (done steps are skipped), or roll back.`,
      { cause: failed[0]?.error, context: { stage, steps: failed.map((r) => r.id) } },
    );
  };

  const collected: PlannedStep[] = [];
  let i = 0;
  while (i < steps.length) {
    if (inv.signal.aborted) return finish('aborted', asError(inv.signal.reason));
    const step = steps[i]!;
    const result = await executeStep(executor, step);
    results.set(step, result);
    if (result.status === 'in_doubt') return finish('needs-decision', result.error);
    if (result.status === 'aborted') return finish('aborted', result.error);
    if (result.status !== 'failed') {
      i++;
      continue;
    }
    if (step.scope === 'stage') {
      collected.push(step);
      i++;
      continue;
    }
    if ((step.scope === 'run' || step.scope.startsWith('from:')) && executor.takeRestart(step)) {
      if (step.scope === 'run') throw new RestartRun(step, result.error);
      const target = scopeTarget(steps, i);
      const reason = `${step.id} failed (${describeError(result.error).message}); restarting from ${steps[target]!.id}`;
      executor
        .logger({ stage, step: step.id, host: step.host })
        .warn(`${reason} after cleanup (restart ${executor.restartsOf(step)} of ${step.retry.attempts - 1})`);
      try {
        await executor.unwind(steps.slice(target, i + 1), reason);
      } catch (error) {
        const failed = {
          ...result,
          error: new UpgradeKitError(
            ErrorCodes.STEP_FAILED,
            `cleanup before restarting from ${steps[target]!.id} failed: ${describeError(error).message}`,
            { cause: error },
          ),
        };
        results.set(step, failed);
        return finish('failed', coreFailure([failed]), true);
      }
      i = target;
      continue;
    }
    if (step.criticality === 'core') return finish('failed', coreFailure([result]), true);
    executor
      .logger({ stage, step: step.id, host: step.host })
      .warn(
        `${step.criticality} step ${step.id} failed and is skipped: ${describeError(result.error).message}`,
      );
    i++;
  }

  // Seed 004 §4.2.2 "整体重试": the stage's failed checks, collected, then re-run together.
  let failing = collected;
  const rounds = Math.max(1, ...collected.map((s) => s.retry.attempts));
  for (let round = 2; round <= rounds && failing.length > 0; round++) {
    const settings = failing[0]!.retry;
    executor
      .logger({ stage })
      .warn(
        `re-running ${failing.length} failed check${failing.length === 1 ? '' : 's'} together (round ${round} of ${rounds}): ${failing.map((s) => s.id).join(', ')}`,
      );
    await sleep(backoffDelay(round - 1, settings), undefined, { signal: inv.signal }).catch(() => {});
    if (inv.signal.aborted) return finish('aborted', asError(inv.signal.reason));
    const next: PlannedStep[] = [];
    for (const step of failing) {
      if (step.definition.cleanup) await step.definition.cleanup(executor.context(step, round, inv.signal));
      const result = await executeStep(executor, step);
      results.set(step, { ...result, attempts: round });
      if (result.status === 'aborted') return finish('aborted', result.error);
      if (result.status === 'in_doubt') return finish('needs-decision', result.error);
      if (result.status === 'failed') next.push(step);
    }
    failing = next;
  }
  const coreFailed = failing.filter((s) => s.criticality === 'core').map((s) => results.get(s)!);
  if (coreFailed.length > 0) return finish('failed', coreFailure(coreFailed), true);
  const businessFailed = [...results.values()].some(
    (r) => r.status === 'failed' && r.criticality === 'business',
  );
  return finish(businessFailed ? 'partial' : 'succeeded');
}
