import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import { describeError, ErrorCodes, isUpgradeKitError, UpgradeKitError } from '../errors/index.js';
import type { EventBus, LogLevel } from '../events/index.js';
import type { HostInfo, Logger, ServicePhase, SiteInfo, StageName, StepContext } from '../model/index.js';
import { backoffDelay, retry, UpgradeKitRetryError, withTimeout } from '../resilience/index.js';
import type { StateStore, StepRecord, StepStatus } from '../state/index.js';
import { stepKeyString } from '../state/types.js';
import { type PlannedStep, scopeTarget } from './normalize.js';
import { decideResume, type ResumeDecision } from './resume.js';
import { resumeFacts } from './resume-facts.js';
import type { StageResult, StageStatus, StepResult } from './types.js';

/** Everything one invocation (a `run()` or a `runStage()`) shares. */
export interface Invocation {
  readonly store: StateStore;
  readonly runId: string;
  readonly component: string;
  readonly site: SiteInfo;
  readonly from: string;
  readonly to: string;
  readonly datasources: Readonly<Record<string, unknown>>;
  readonly hosts: readonly HostInfo[];
  readonly events: EventBus;
  readonly signal: AbortSignal;
  /** Current state of every step of this component and site, kept in step with the store. */
  readonly states: Map<string, StepRecord>;
}

/** Thrown out of a stage when a `run`-scoped step fails and has restarts left. */
export class RestartRun extends Error {
  constructor(
    readonly step: PlannedStep,
    readonly failure: Error | undefined,
  ) {
    super(`restart the run after ${step.id} failed`);
  }
}

const SERVICES: Record<StageName, string> = {
  install: 'old-version-running',
  resourceCheck: 'old-version-running',
  businessCheck: 'old-version-running',
  preUpgrade: 'old-version-running',
  preStart: 'stopped',
  postStart: 'new-version-running',
  openTraffic: 'new-version-running',
  postUpgrade: 'new-version-running',
};

/**
 * Runs the steps of a stage: skips what is done, settles what is in doubt, retries by scope,
 * and applies criticality. Writes state before and after every attempt.
 */
export class Executor {
  readonly #inv: Invocation;
  readonly #restarts = new Map<string, number>();
  /** Steps this invocation attempted, in order: what a `run`-scope restart must clean up. */
  readonly #attempted = new Map<string, PlannedStep>();
  /** The log row of the attempt in progress per step, for `succeedWithin`. */
  readonly #current = new Map<string, { logId: number; started: number; committed: boolean }>();
  /** Steps running now, with what each says is at stake if the process exits (`ctx.inFlight`). */
  readonly #inFlight = new Map<string, { step: PlannedStep; note?: string }>();

  constructor(invocation: Invocation) {
    this.#inv = invocation;
  }

  logger(context: { stage?: string; step?: string; host?: string }): Logger {
    const emit = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) =>
      this.#inv.events.emit({
        type: 'log',
        level,
        message,
        ...(context.stage ? { stage: context.stage } : {}),
        ...(context.step ? { step: context.step } : {}),
        ...(context.host ? { host: context.host } : {}),
        ...(fields ? { fields } : {}),
      });
    return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
  }

  context(step: PlannedStep, attempt: number, signal: AbortSignal): StepContext<StageName> {
    const inv = this.#inv;
    const key = stepKeyString(step.key);
    return Object.freeze({
      stage: step.stage,
      services: SERVICES[step.stage] as ServicePhase<StageName>,
      step: step.id,
      attempt,
      runId: inv.runId,
      component: inv.component,
      from: inv.from,
      to: inv.to,
      site: inv.site,
      host: step.host || undefined,
      datasources: inv.datasources,
      hosts: inv.hosts,
      log: this.logger({ stage: step.stage, step: step.id, host: step.host }),
      events: inv.events,
      signal,
      progress: inv.states.get(key)?.progress,
      saveProgress: async (progress: string) => {
        await inv.store.saveProgress(step.key, progress);
        const current = inv.states.get(key);
        if (current) inv.states.set(key, { ...current, progress });
      },
      stepState: async (stepId: string, host = '') =>
        inv.states.get(stepKeyString({ host, taskVersion: step.key.taskVersion, taskId: stepId })),
      stateKnex: inv.store.knex,
      inFlight: (note: string | undefined) => {
        const entry = this.#inFlight.get(key);
        if (!entry) return;
        if (note === undefined) delete entry.note;
        else entry.note = note;
      },
      succeedWithin: async (trx: Knex.Transaction) => {
        const current = this.#current.get(key);
        if (!current) throw new Error(`succeedWithin: step ${step.id} has no attempt in progress`);
        await inv.store.endStep(
          step.key,
          current.logId,
          'succeeded',
          { endedAt: Date.now(), durationMs: performance.now() - current.started, clearProgress: true },
          trx,
        );
        current.committed = true;
      },
    });
  }

  async #setStatus(step: PlannedStep, status: StepStatus, reason: string): Promise<void> {
    const inv = this.#inv;
    await inv.store.setStepStatus(step.key, status, {
      runId: inv.runId,
      stage: step.stage,
      taskName: step.name,
      versionFrom: inv.from,
      versionTo: inv.to,
      reason,
    });
    const key = stepKeyString(step.key);
    const previous = inv.states.get(key);
    inv.states.set(key, {
      ...step.key,
      taskName: step.name,
      stage: step.stage,
      attempt: previous?.attempt ?? 0,
      ...previous,
      status,
      runId: inv.runId,
      error: reason,
    });
  }

  #skipped(step: PlannedStep, reason: string, started: number): StepResult {
    this.#inv.events.emit({
      type: 'step.end',
      stage: step.stage,
      step: step.id,
      ...(step.host ? { host: step.host } : {}),
      status: 'skipped',
      durationMs: performance.now() - started,
      error: { message: reason },
    });
    return {
      id: step.id,
      name: step.name,
      stage: step.stage,
      version: step.key.taskVersion,
      ...(step.host ? { host: step.host } : {}),
      status: 'skipped',
      criticality: step.criticality,
      reason,
      attempts: 0,
      durationMs: performance.now() - started,
    };
  }

  /** What happens to a step now: the shared resume decision, its check asked when it needs one. */
  async #decide(step: PlannedStep, record: StepRecord | undefined): Promise<ResumeDecision> {
    const inv = this.#inv;
    // The process may have died between writing the attempt's end to the log and to the state.
    const outcome =
      record?.status === 'running' && record.runId !== inv.runId && record.logId !== undefined
        ? await inv.store.attemptOutcome(record.logId)
        : undefined;
    const facts = resumeFacts(step, record, { liveRunId: inv.runId, outcome });
    const decision = decideResume(facts);
    if (decision.action !== 'check') return decision;
    const applied = await step.definition.skipIf!(this.context(step, 0, inv.signal));
    return decideResume({ ...facts, answer: applied ? 'applied' : 'not-applied' });
  }

  /** Writes what a decision settled: from the attempt's log row, or decided now (with a log row). */
  async #settle(step: PlannedStep, record: StepRecord | undefined, decision: ResumeDecision): Promise<void> {
    const inv = this.#inv;
    const key = stepKeyString(step.key);
    if (decision.write === 'from-log') {
      await inv.store.settleFromLog(step.key, decision.state);
      if (record) inv.states.set(key, { ...record, status: decision.state });
    } else if (decision.write === 'decided') {
      await this.#setStatus(step, decision.state, decision.reason ?? decision.state);
    }
  }

  /** Runs one step, honouring what the state says about it. Never throws for a step failure. */
  async execute(step: PlannedStep): Promise<StepResult> {
    const inv = this.#inv;
    const started = performance.now();
    const record = inv.states.get(stepKeyString(step.key));
    const base = {
      id: step.id,
      name: step.name,
      stage: step.stage,
      version: step.key.taskVersion,
      ...(step.host ? { host: step.host } : {}),
      criticality: step.criticality,
    };

    try {
      const decision = await this.#decide(step, record);
      if (decision.action === 'blocked') {
        const error = inDoubtError(step, decision, record?.runId);
        await this.#settle(step, record, { ...decision, reason: error.message });
        inv.events.emit({
          type: 'step.end',
          stage: step.stage,
          step: step.id,
          ...(step.host ? { host: step.host } : {}),
          status: 'in_doubt',
          durationMs: performance.now() - started,
          error: { message: describeError(error).message, code: error.code },
        });
        return { ...base, status: 'in_doubt', attempts: 0, durationMs: performance.now() - started, error };
      }
      await this.#settle(step, record, decision);
      if (decision.note) this.logger(step).warn(`step ${step.id}: ${decision.note}`);
      if (decision.action === 'skip') return this.#skipped(step, decision.reason!, started);
      // Running again what a crash interrupted is worth a line in the log — unless the step is about
      // to stop on the part in doubt: then its own in-doubt report is the one message.
      if (decision.interrupted && !decision.needsOperator)
        this.logger(step).warn(`step ${step.id}: ${decision.reason}`);
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
            await step.definition.cleanup(this.context(step, attempt, inv.signal));
          await this.#attempt(step, attempt);
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
      if (succeeded)
        return { ...base, status: 'succeeded', attempts, durationMs: performance.now() - started };
      // With a single attempt the retry wrapper adds nothing: report the error itself.
      const reported = attempts <= 1 && error instanceof UpgradeKitRetryError ? error.cause : error;
      const inDoubt = [reported, (reported as { cause?: unknown })?.cause].some((e) =>
        isUpgradeKitError(e, ErrorCodes.IN_DOUBT),
      );
      const status = inv.signal.aborted ? 'aborted' : inDoubt ? 'in_doubt' : 'failed';
      return { ...base, status, attempts, durationMs: performance.now() - started, error: asError(reported) };
    }
  }

  async #attempt(step: PlannedStep, attempt: number): Promise<void> {
    const inv = this.#inv;
    const key = stepKeyString(step.key);
    const startedAt = Date.now();
    const started = performance.now();
    this.#attempted.delete(key);
    this.#attempted.set(key, step);
    const logId = await inv.store.beginStep({
      ...step.key,
      runId: inv.runId,
      taskName: step.name,
      stage: step.stage,
      versionFrom: inv.from,
      versionTo: inv.to,
      attempt,
      ...(step.definition.checksum ? { checksum: step.definition.checksum } : {}),
      ...(step.definition.changesData ? { changesData: true } : {}),
      startedAt,
    });
    const previous = inv.states.get(key);
    inv.states.set(key, {
      ...step.key,
      taskName: step.name,
      stage: step.stage,
      status: 'running',
      runId: inv.runId,
      attempt,
      startedAt,
      ...(previous?.progress ? { progress: previous.progress } : {}),
    });
    const where = { stage: step.stage, step: step.id, ...(step.host ? { host: step.host } : {}) };
    const current = { logId, started, committed: false };
    this.#current.set(key, current);
    this.#inFlight.set(key, { step });
    inv.events.emit({ type: 'step.start', ...where, attempt });
    try {
      await withTimeout((signal) => step.definition.run(this.context(step, attempt, signal)), {
        ms: step.timeoutMs,
        ...(step.definition.stopGraceMs !== undefined ? { graceMs: step.definition.stopGraceMs } : {}),
        step: step.id,
        stage: step.stage,
        ...(step.host ? { host: step.host } : {}),
        ...(step.kind ? { kind: step.kind } : {}),
        signal: inv.signal,
        events: inv.events,
      });
    } catch (error) {
      this.#current.delete(key);
      this.#inFlight.delete(key);
      // The step found part of its own work in doubt (e.g. one statement of a file): say so.
      const status = inv.signal.aborted
        ? 'aborted'
        : isUpgradeKitError(error, ErrorCodes.IN_DOUBT)
          ? 'in_doubt'
          : 'failed';
      const message = describeError(error).message;
      const durationMs = performance.now() - started;
      await inv.store
        .endStep(step.key, logId, status, {
          endedAt: Date.now(),
          durationMs,
          error: fullMessage(error),
          ...(isUpgradeKitError(error) ? { errorDetail: error.detail() } : {}),
        })
        .catch(() => {});
      inv.states.set(key, { ...inv.states.get(key)!, status, error: message });
      inv.events.emit({
        type: 'step.end',
        ...where,
        status,
        durationMs,
        error: { message, ...(isUpgradeKitError(error) ? { code: error.code } : {}) },
      });
      throw error;
    }
    const durationMs = performance.now() - started;
    this.#current.delete(key);
    this.#inFlight.delete(key);
    if (!current.committed) {
      await inv.store.endStep(step.key, logId, 'succeeded', {
        endedAt: Date.now(),
        durationMs,
        clearProgress: true,
      });
    }
    const { progress: _done, ...rest } = inv.states.get(key)!;
    inv.states.set(key, { ...rest, status: 'succeeded' });
    inv.events.emit({ type: 'step.end', ...where, status: 'succeeded', durationMs });
  }

  /**
   * The steps running now and what each said is at stake if the process exits this instant
   * (`ctx.inFlight`); a step that said nothing may have done part of its work.
   */
  inFlight(): Array<{
    readonly id: string;
    readonly stage: StageName;
    readonly host?: string;
    readonly note: string;
  }> {
    return [...this.#inFlight.values()].map(({ step, note }) => ({
      id: step.id,
      stage: step.stage,
      ...(step.host ? { host: step.host } : {}),
      note:
        note ??
        (step.idempotent
          ? 'it was running: it may have done part of its work; it is idempotent, so the next run runs it again'
          : 'it was running: it may have done part of its work, so it is in doubt until resolved'),
    }));
  }

  /** Runs `cleanup` of each step in reverse order, then resets them all to pending. */
  async unwind(steps: readonly PlannedStep[], reason: string): Promise<void> {
    for (const step of [...steps].reverse()) {
      if (step.definition.cleanup) await step.definition.cleanup(this.context(step, 0, this.#inv.signal));
    }
    for (const step of steps) await this.#setStatus(step, 'pending', reason);
  }

  /** Takes the list of steps attempted so far, emptying it. */
  takeAttempted(): PlannedStep[] {
    const steps = [...this.#attempted.values()];
    this.#attempted.clear();
    return steps;
  }

  /** Counts a restart for a `from:`/`run` step; false when its attempts are used up. */
  takeRestart(step: PlannedStep): boolean {
    const key = stepKeyString(step.key);
    const used = this.#restarts.get(key) ?? 0;
    if (used + 1 >= step.retry.attempts) return false;
    this.#restarts.set(key, used + 1);
    return true;
  }

  restartsOf(step: PlannedStep): number {
    return this.#restarts.get(stepKeyString(step.key)) ?? 0;
  }

  async runStage(stage: StageName, steps: readonly PlannedStep[]): Promise<StageResult> {
    const inv = this.#inv;
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
      const result = await this.execute(step);
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
      if ((step.scope === 'run' || step.scope.startsWith('from:')) && this.takeRestart(step)) {
        if (step.scope === 'run') throw new RestartRun(step, result.error);
        const target = scopeTarget(steps, i);
        const reason = `${step.id} failed (${describeError(result.error).message}); restarting from ${steps[target]!.id}`;
        this.logger({ stage, step: step.id, host: step.host }).warn(
          `${reason} after cleanup (restart ${this.restartsOf(step)} of ${step.retry.attempts - 1})`,
        );
        try {
          await this.unwind(steps.slice(target, i + 1), reason);
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
      this.logger({ stage, step: step.id, host: step.host }).warn(
        `${step.criticality} step ${step.id} failed and is skipped: ${describeError(result.error).message}`,
      );
      i++;
    }

    // Seed 004 §4.2.2 "整体重试": the stage's failed checks, collected, then re-run together.
    let failing = collected;
    const rounds = Math.max(1, ...collected.map((s) => s.retry.attempts));
    for (let round = 2; round <= rounds && failing.length > 0; round++) {
      const settings = failing[0]!.retry;
      this.logger({ stage }).warn(
        `re-running ${failing.length} failed check${failing.length === 1 ? '' : 's'} together (round ${round} of ${rounds}): ${failing.map((s) => s.id).join(', ')}`,
      );
      await sleep(backoffDelay(round - 1, settings), undefined, { signal: inv.signal }).catch(() => {});
      if (inv.signal.aborted) return finish('aborted', asError(inv.signal.reason));
      const next: PlannedStep[] = [];
      for (const step of failing) {
        if (step.definition.cleanup) await step.definition.cleanup(this.context(step, round, inv.signal));
        const result = await this.execute(step);
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

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function fullMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
