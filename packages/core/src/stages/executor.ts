import type { Knex } from 'knex';
import { ErrorCodes, isUpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import type { EventBus, LogLevel } from '../events/index.js';
import type { HostInfo, Logger, ServicePhase, SiteInfo, StageName, StepContext } from '../model/index.js';
import { withTimeout } from '../resilience/index.js';
import type { StateStore, StepRecord, StepStatus } from '../state/index.js';
import { stepKeyString } from '../state/internal.js';
import type { PlannedStep } from './normalize.js';
import type { ResumeDecision } from './resume.js';
import { grantStateAccess } from './state-access.js';

// The executor is split by job: this file is what one invocation shares and keeps — the step
// context, the rows it writes, the steps in flight — and one attempt of a step. What to do with a
// step (resume decision, retries) is in step-run.ts; a stage's loop (criticality, scopes, rounds)
// in stage-run.ts. Both only call into this file, never the other way.

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
 * What one invocation keeps while it runs steps: the step context it hands out, the state rows it
 * writes (store and `states` in step), the steps in flight and attempted, the restarts used.
 */
export class Executor {
  /** What this invocation shares; step-run.ts and stage-run.ts read it. */
  readonly invocation: Invocation;
  readonly #restarts = new Map<string, number>();
  /** Steps this invocation attempted, in order: what a `run`-scope restart must clean up. */
  readonly #attempted = new Map<string, PlannedStep>();
  /** The log row of the attempt in progress per step, for `succeedWithin`. */
  readonly #current = new Map<string, { logId: number; started: number; committed: boolean }>();
  /** Steps running now, with what each says is at stake if the process exits (`ctx.inFlight`). */
  readonly #inFlight = new Map<string, { step: PlannedStep; note?: string }>();

  constructor(invocation: Invocation) {
    this.invocation = invocation;
  }

  logger(context: { stage?: string; step?: string; host?: string }): Logger {
    const emit = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) =>
      this.invocation.events.emit({
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
    const inv = this.invocation;
    const key = stepKeyString(step.key);
    const succeedWithin = async (trx: Knex.Transaction) => {
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
    };
    const ctx: StepContext<StageName> = {
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
      inFlight: (note: string | undefined) => {
        const entry = this.#inFlight.get(key);
        if (!entry) return;
        if (note === undefined) delete entry.note;
        else entry.note = note;
      },
    };
    // migrate/ and rollout/ reach the state through this; a script's step sees only the context.
    return Object.freeze(grantStateAccess(ctx, { store: inv.store, knex: inv.store.knex, succeedWithin }));
  }

  /** Records a status decided now (with a log row), in the store and in `states`. */
  async setStatus(step: PlannedStep, status: StepStatus, reason: string): Promise<void> {
    const inv = this.invocation;
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

  /** The recorded state of a step, as this invocation keeps it. */
  record(step: PlannedStep): StepRecord | undefined {
    return this.invocation.states.get(stepKeyString(step.key));
  }

  /** Writes what a decision settled: from the attempt's log row, or decided now (with a log row). */
  async settle(step: PlannedStep, record: StepRecord | undefined, decision: ResumeDecision): Promise<void> {
    const inv = this.invocation;
    const key = stepKeyString(step.key);
    if (decision.write === 'from-log') {
      await inv.store.settleFromLog(step.key, decision.state);
      if (record) inv.states.set(key, { ...record, status: decision.state });
    } else if (decision.write === 'decided') {
      await this.setStatus(step, decision.state, decision.reason ?? decision.state);
    }
  }

  /** One attempt of a step: its log row and state before, its run under the timeout, its end after. */
  async attempt(step: PlannedStep, attempt: number): Promise<void> {
    const inv = this.invocation;
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
      if (step.definition.cleanup)
        await step.definition.cleanup(this.context(step, 0, this.invocation.signal));
    }
    for (const step of steps) await this.setStatus(step, 'pending', reason);
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
}

function fullMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
