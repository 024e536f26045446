// Running a rollback's steps: in groups (the three restores together when parallel), each step's
// start and end in the history and as events, then the rollback's own end and what it says.
import { ErrorCodes, isUpgradeKitError, UpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import type { RollbackRecord } from '../state/index.js';
import type { BackupManifest } from './manifest.js';
import { reopenUndoneSteps } from './reopen.js';
import type { RollbackContext } from './rollback-context.js';
import { performStep } from './rollback-steps.js';
import {
  DONE,
  nextStepOf,
  ROLLBACK_STEPS,
  type RollbackOutcome,
  type RollbackResult,
} from './rollback-types.js';

/** Runs every step from `from` on that is not done yet. */
export function runFrom(
  ctx: RollbackContext,
  record: RollbackRecord,
  manifest: BackupManifest,
  from: number,
  continued: boolean,
  began: number,
): Promise<RollbackResult> {
  const groups = ctx.options.parallel ? [[1], [2, 3, 4], [5], [6]] : [[1], [2], [3], [4], [5], [6]];
  const todo = groups
    .map((g) => g.filter((n) => n >= from && !DONE.has(record.steps[n]?.status ?? 'pending')))
    .filter((g) => g.length > 0);
  return runSteps(ctx, record, manifest, todo, continued, began);
}

export async function runSteps(
  ctx: RollbackContext,
  record: RollbackRecord,
  manifest: BackupManifest,
  groups: number[][],
  continued: boolean,
  began: number,
): Promise<RollbackResult> {
  const { component, site } = record;
  ctx.events.emit({ type: 'stage.start', stage: 'rollback' });
  let failure: UpgradeKitError | undefined;
  for (const group of groups) {
    // All of a group are recorded as running before any starts work: `status` shows them together.
    const before = await ctx.reload(record);
    const started = await Promise.all(group.map((n) => begin(ctx, record, n)));
    const outcomes = await Promise.all(
      group.map((n, i) => runStep(ctx, before, manifest, n, started[i]!, before.steps[n]?.progress)),
    );
    failure = outcomes.find((o) => o !== undefined);
    if (failure) break;
  }
  const latest = await ctx.reload(record);
  const complete = nextStepOf(latest) === undefined;
  if (failure) {
    await ctx.history.finish(component, site, record.rollbackId, 'failed', failure.message);
  } else if (complete) {
    const { reopened, unknown } = await reopenUndoneSteps(ctx.options.state, latest);
    if (reopened.length > 0) {
      ctx.log(
        'info',
        `${reopened.length} upgrade step(s) the rollback undid are pending again: the next upgrade runs them (${reopened.map((s) => s.taskId).join(', ')})`,
      );
    }
    if (unknown.length > 0) {
      ctx.log(
        'warn',
        `the data was kept, and these steps were recorded before upgradekit knew whether they change data, so they stay done: ${unknown.map((s) => s.taskId).join(', ')}; \`upgradekit resolve <step> --retry\` runs one again`,
      );
    }
    await ctx.history.finish(component, site, record.rollbackId, 'completed');
  }
  const final = await ctx.reload(record);
  const status: RollbackOutcome = failure ? 'failed' : complete ? 'completed' : 'in-progress';
  ctx.events.emit({
    type: 'stage.end',
    stage: 'rollback',
    status: failure ? 'failed' : 'succeeded',
    durationMs: performance.now() - began,
    ...(failure ? { error: { message: failure.message, code: failure.code } } : {}),
  });
  const next = nextStepOf(final);
  const message = failure
    ? `rollback ${record.rollbackId} stopped at step ${next}: ${failure.message}. Fix the cause, then \`rollback ${record.type === 'manual' ? `step ${next}` : 'auto'}\` continues from there (\`rollback status\` shows what is kept aside, and where).`
    : complete
      ? `${record.mode} rollback ${record.rollbackId} to ${record.toVersion} (backup ${record.backupId}) completed${record.mode === 'compatible' ? '; the data was kept (compatible rollback)' : ''}`
      : `rollback ${record.rollbackId}: done through step ${(next ?? 7) - 1}; next is step ${next}`;
  ctx.log(failure ? 'error' : 'info', message);
  return ctx.result(final, status, began, continued, { message, ...(failure ? { error: failure } : {}) });
}

/** Records step `n` as running; resolves with when it started. */
async function begin(ctx: RollbackContext, record: RollbackRecord, n: number): Promise<number> {
  const startedAt = Date.now();
  await ctx.setStep(record, n, { status: 'running', startedAt });
  ctx.events.emit({ type: 'step.start', stage: 'rollback', step: ROLLBACK_STEPS[n - 1]!.id });
  return startedAt;
}

/** Runs one step, recording its end; resolves with its error instead of throwing. */
async function runStep(
  ctx: RollbackContext,
  record: RollbackRecord,
  manifest: BackupManifest,
  n: number,
  startedAt: number,
  progress: string | undefined,
): Promise<UpgradeKitError | undefined> {
  const meta = ROLLBACK_STEPS[n - 1]!;
  try {
    const skipped = await performStep({
      record,
      manifest,
      step: n,
      progress,
      target: ctx.target(record, manifest),
      hooks: ctx.options.hooks,
      databases: () => ctx.databases(manifest),
      saveProgress: (value) => ctx.setStep(record, n, { progress: value }),
      log: (message) => ctx.log('info', message),
      events: ctx.events,
      ...(ctx.options.signal ? { signal: ctx.options.signal } : {}),
    });
    const endedAt = Date.now();
    await ctx.setStep(record, n, {
      status: skipped ? 'skipped' : 'succeeded',
      endedAt,
      ...(skipped ? { reason: skipped } : {}),
    });
    ctx.events.emit({
      type: 'step.end',
      stage: 'rollback',
      step: meta.id,
      status: skipped ? 'skipped' : 'succeeded',
      durationMs: endedAt - startedAt,
    });
    return undefined;
  } catch (cause) {
    const error =
      isUpgradeKitError(cause) && cause.code !== ErrorCodes.STEP_FAILED
        ? cause
        : new UpgradeKitError(
            ErrorCodes.ROLLBACK_FAILED,
            `step ${n} (${meta.name}) failed: ${describeError(cause).message}`,
            { cause, context: { rollbackId: record.rollbackId, step: n } },
          );
    const endedAt = Date.now();
    await ctx.setStep(record, n, { status: 'failed', endedAt, error: error.message });
    ctx.events.emit({
      type: 'step.end',
      stage: 'rollback',
      step: meta.id,
      status: 'failed',
      durationMs: endedAt - startedAt,
      error: { message: error.message, code: error.code },
    });
    return error;
  }
}
