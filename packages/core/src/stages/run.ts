import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import { STAGES, type StageName } from '../model/index.js';
import { SiteLock } from '../state/index.js';
import type { UpgradeCore } from './core.js';
import type { Executor } from './executor.js';
import { RestartRun, runStage } from './stage-run.js';
import type { RunResult, StageResult, StageStatus } from './types.js';

// Running an upgrade: the site lock, the run's row, the process's signals, and the loop over the
// stages (restarting the whole run when a `run`-scoped step asks for it).

/** Runs one cut-point (`upgrade.runStage`): the run's result, as that stage's. */
export async function runOneStage(
  core: UpgradeCore,
  stage: StageName,
  signal: AbortSignal | undefined,
): Promise<StageResult> {
  const result = await invoke(core, [stage], signal);
  const received = result.signal ? { signal: result.signal } : {};
  const first = result.stages[0];
  return first
    ? { ...first, ...received }
    : {
        stage,
        status: result.status,
        steps: [],
        durationMs: result.durationMs,
        ...(result.error ? { error: result.error } : {}),
        rollbackOffered: result.rollbackOffered,
        ...received,
      };
}

/** Runs the cut-points from `from` to `until` (both included; all by default) in order. */
export async function runStages(
  core: UpgradeCore,
  range: { from?: StageName | undefined; until?: StageName | undefined },
  signal: AbortSignal | undefined,
): Promise<RunResult> {
  const { from, until } = range;
  const stages = STAGES.slice(
    from ? STAGES.indexOf(from) : 0,
    until ? STAGES.indexOf(until) + 1 : STAGES.length,
  );
  return invoke(core, stages, signal);
}

/** One invocation: under the site lock, recorded as a run, stopped cleanly by a first signal. */
async function invoke(
  core: UpgradeCore,
  stages: readonly StageName[],
  signal: AbortSignal | undefined,
): Promise<RunResult> {
  const store = await core.state();
  const runId = randomUUID();
  const controller = new AbortController();
  const signals = [controller.signal, core.options.signal, signal].filter(
    (s): s is AbortSignal => s !== undefined,
  );
  const combined = AbortSignal.any(signals);
  const started = performance.now();
  let executor: Executor | undefined;
  let received: 'SIGINT' | 'SIGTERM' | undefined;
  const onSignal = (name: 'SIGINT' | 'SIGTERM') => {
    if (received === undefined) {
      received = name;
      stopping(core, name, executor);
      controller.abort(
        new UpgradeKitError(ErrorCodes.ABORTED, `received ${name}`, { context: { signal: name } }),
      );
      return;
    }
    forcedExit(core, name, executor);
  };
  const lock = await SiteLock.acquire(store, {
    component: core.component,
    site: core.site.id,
    runId,
    ...(core.options.lock.ttlMs ? { ttlMs: core.options.lock.ttlMs } : {}),
    ...core.liveness(),
    events: core.events,
    onLost: (error) => controller.abort(error),
  });
  if (core.options.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    await store.startRun({
      runId,
      component: core.component,
      site: core.site.id,
      versionFrom: core.from,
      versionTo: core.to,
      host: hostname(),
      pid: process.pid,
      startedAt: Date.now(),
    });
    executor = core.executor({
      store,
      runId,
      events: core.events,
      signal: combined,
      states: await store.loadSteps(core.component, core.site.id),
    });
    const executed = await runLoop(core, executor, stages, runId, started);
    const result: RunResult =
      received && executed.status === 'aborted' ? { ...executed, signal: received } : executed;
    await store.finishRun(
      runId,
      result.status,
      result.error ? describeError(result.error).message : undefined,
    );
    return result;
  } catch (error) {
    await store.finishRun(runId, 'failed', describeError(error).message).catch(() => {});
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await lock.release().catch(() => {});
  }
}

/** The first SIGINT/SIGTERM: say what happens now, and that a second one exits at once. */
function stopping(core: UpgradeCore, name: 'SIGINT' | 'SIGTERM', executor: Executor | undefined): void {
  const running = executor?.inFlight() ?? [];
  const what = running.length
    ? `stopping: ${running.map((r) => r.id).join(', ')} is cancelled (its running statement or program is stopped, its open transaction rolled back) and nothing more is committed`
    : 'stopping before the next step';
  core.events.emit({
    type: 'log',
    level: 'warn',
    message: `received ${name}: ${what}; ${name === 'SIGINT' ? 'press Ctrl-C again' : 'send it again'} to exit at once, without waiting`,
  });
}

/**
 * A second signal while stopping: the operator will not wait. Exit now, with 128 + the signal's
 * number as a shell reports it, after saying what the steps still running leave behind — the
 * state is then that of a crash, which the next run resumes from. With `handleSignals` the
 * process's signals belong to the upgrade (Node's own exit on SIGINT is replaced), so exiting is
 * ours to do.
 */
function forcedExit(core: UpgradeCore, name: 'SIGINT' | 'SIGTERM', executor: Executor | undefined): never {
  const running = executor?.inFlight() ?? [];
  const lines = running.map(
    (r) => `  - ${r.id}${r.host ? ` on ${r.host}` : ''} (stage ${r.stage}): ${r.note}`,
  );
  core.events.emit({
    type: 'log',
    level: 'error',
    message: running.length
      ? `received ${name} again: exiting now, without waiting for the running step to stop. What may be left:\n${lines.join('\n')}\nThe next run resumes from here (it takes over this run's lock once this process is gone).`
      : `received ${name} again: exiting now; no step was running, so nothing is in doubt.`,
  });
  process.exit(128 + (name === 'SIGINT' ? 2 : 15));
}

/** The stages in order, until one does not succeed; a `RestartRun` starts them over. */
async function runLoop(
  core: UpgradeCore,
  executor: Executor,
  stages: readonly StageName[],
  runId: string,
  started: number,
): Promise<RunResult> {
  for (;;) {
    const results: StageResult[] = [];
    try {
      for (const stage of stages) {
        const result = await runStage(executor, stage, core.steps.planned(stage));
        results.push(result);
        if (result.status !== 'succeeded' && result.status !== 'partial') break;
      }
    } catch (error) {
      if (!(error instanceof RestartRun)) throw error;
      // Seed 004 §4.2.2 "重新发起升级": clean up everything this run did, then start over.
      const done = executor.takeAttempted();
      const reason = `${error.step.id} failed (${describeError(error.failure).message}); restarting the run from the beginning`;
      executor
        .logger({ stage: error.step.stage, step: error.step.id })
        .warn(`${reason} after a full cleanup`);
      await executor.unwind(done, reason);
      continue;
    }
    const last = results.at(-1);
    const status: StageStatus =
      last && last.status !== 'succeeded' && last.status !== 'partial'
        ? last.status
        : results.some((r) => r.status === 'partial')
          ? 'partial'
          : 'succeeded';
    const error = results.find((r) => r.error && r.status !== 'succeeded' && r.status !== 'partial')?.error;
    return {
      runId,
      status,
      stages: results,
      durationMs: performance.now() - started,
      ...(error ? { error } : {}),
      rollbackOffered: results.some((r) => r.rollbackOffered),
    };
  }
}
