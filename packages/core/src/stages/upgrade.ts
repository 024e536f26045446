import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { describeError, ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { EventBus } from '../events/bus.js';
import { validateOptions } from '../options/index.js';
import { type LockHolder, SiteLock, type StateOptions, StateStore, type StepRecord } from '../state/index.js';
import { stepKeyString } from '../state/types.js';
import { parseVersion } from '../version/index.js';
import { Executor, RestartRun } from './executor.js';
import { assertStage, STAGES, type StageName } from './names.js';
import { checkStageSteps, type Defaults, hookToDefinition, type PlannedStep, planStep } from './normalize.js';
import type {
  Hook,
  HookMap,
  Hooks,
  HostInfo,
  RunResult,
  SiteInfo,
  StageResult,
  StageStatus,
  StepDefinition,
  StepResult,
} from './types.js';

const optionsSchema = z.object({
  component: z.string().min(1, 'must be a non-empty string').max(128),
  from: z.string().min(1, 'must be a version such as 2.16.5'),
  to: z.string().min(1, 'must be a version such as 2.16.7'),
  site: z.union([
    z.string().min(1).max(128),
    z.object({
      id: z.string().min(1, 'must be a non-empty string').max(128),
      name: z.string().optional(),
      env: z.record(z.string(), z.string()).optional(),
    }),
  ]),
  state: z
    .union([
      z.custom<StateStore>((v) => v instanceof StateStore),
      z.object({ filename: z.string().min(1) }),
      z.object({ config: z.object({}).loose() }),
      z.object({ knex: z.any() }),
    ])
    .optional(),
  datasources: z.record(z.string(), z.unknown()).default({}),
  hosts: z
    .array(
      z.object({
        name: z.string().min(1),
        address: z.string().optional(),
        port: z.number().int().min(1).max(65535).optional(),
        user: z.string().optional(),
        roles: z.array(z.string()).optional(),
        vars: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .default([]),
  hooks: z.record(z.string(), z.unknown()).default({}),
  steps: z.array(z.object({ stage: z.string() }).loose()).default([]),
  events: z.instanceof(EventBus).optional(),
  signal: z.instanceof(AbortSignal).optional(),
  handleSignals: z.boolean().default(false),
  lock: z.object({ ttlMs: z.number().int().positive().optional() }).default({}),
  defaults: z
    .object({
      timeoutMs: z
        .number()
        .positive()
        .default(60 * 60_000),
      retry: z
        .object({
          attempts: z.number().int().min(1).default(1),
          minDelayMs: z.number().nonnegative().default(1000),
          maxDelayMs: z.number().nonnegative().default(30_000),
          factor: z.number().min(1).default(2),
          jitter: z.boolean().default(true),
        })
        .default({ attempts: 1, minDelayMs: 1000, maxDelayMs: 30_000, factor: 2, jitter: true }),
    })
    .default({
      timeoutMs: 60 * 60_000,
      retry: { attempts: 1, minDelayMs: 1000, maxDelayMs: 30_000, factor: 2, jitter: true },
    }),
});

/** A step added with `upgrade.step()` or `steps: […]`, with the stage it belongs to. */
export type StagedStep = { [S in StageName]: StepDefinition<S> & { readonly stage: S } }[StageName];

export interface UpgradeOptions {
  /** The component being upgraded; part of every step's identity. */
  readonly component: string;
  readonly from: string;
  readonly to: string;
  /** The site (局点) id, or its details. One run per component and site at a time. */
  readonly site: string | SiteInfo;
  /** Where state lives. Default: `.upgradekit/state.sqlite` under the working directory. */
  readonly state?: StateStore | StateOptions;
  readonly datasources?: Readonly<Record<string, unknown>>;
  readonly hosts?: readonly HostInfo[];
  readonly hooks?: HookMap;
  readonly steps?: readonly StagedStep[];
  /** Where events go. Default: a new bus, at `upgrade.events`. */
  readonly events?: EventBus;
  /** Cancels every run of this upgrade. */
  readonly signal?: AbortSignal;
  /** Abort the running step on SIGINT/SIGTERM, record it and release the lock. For CLIs. */
  readonly handleSignals?: boolean;
  readonly lock?: { readonly ttlMs?: number };
  readonly defaults?: {
    readonly timeoutMs?: number;
    readonly retry?: Partial<Defaults['retry']>;
  };
}

export interface StepStatusRow {
  readonly id: string;
  readonly stage: StageName;
  readonly host?: string;
  readonly version: string;
  readonly status: StepRecord['status'];
  readonly criticality: string;
  readonly attempt: number;
  readonly runId?: string;
  readonly startedAt?: number;
  readonly endedAt?: number;
  readonly error?: string;
}

export interface DryRunEntry {
  readonly stage: StageName;
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly host?: string;
  readonly action: 'run' | 'skip' | 'blocked';
  readonly reason?: string;
  readonly summary?: string;
}

export interface ChecksumMismatch {
  readonly id: string;
  readonly stage: StageName;
  readonly version: string;
  readonly recorded: string;
  readonly current: string;
  readonly runId: string;
}

export interface StatusReport {
  readonly component: string;
  readonly site: string;
  readonly from: string;
  readonly to: string;
  readonly lock?: LockHolder;
  readonly lastRun?: Awaited<ReturnType<StateStore['runs']>>[number];
  readonly steps: readonly StepStatusRow[];
  readonly counts: Readonly<
    Record<'done' | 'pending' | 'failed' | 'skipped' | 'inDoubt' | 'running', number>
  >;
}

/**
 * Creates an upgrade of one component on one site, from one version to another. Register hooks
 * per cut-point, then let the CI call `runStage()` at each cut-point, or call `run()` for all.
 * Every step is recorded; a killed run resumes where it stopped and never repeats a done step.
 *
 * @example
 * const upgrade = createUpgrade({ component: 'dr-platform', from: '2.16.5', to: '2.16.7', site: 'site-042' });
 * upgrade.hooks.preStart({ id: 'migrate-config', run: async (ctx) => migrate(ctx.signal) });
 * const result = await upgrade.runStage('preStart');
 * if (result.status !== 'succeeded') process.exitCode = 1;
 */
export function createUpgrade(options: UpgradeOptions): Upgrade {
  return new Upgrade(options);
}

export class Upgrade {
  readonly component: string;
  readonly from: string;
  readonly to: string;
  readonly site: SiteInfo;
  readonly events: EventBus;
  readonly hooks: Hooks;
  readonly #options: z.output<typeof optionsSchema>;
  readonly #defaults: Defaults;
  readonly #steps = new Map<StageName, StepDefinition<StageName>[]>(STAGES.map((s) => [s, []]));
  #hookCount = new Map<StageName, number>();
  #store: Promise<StateStore> | undefined;
  #ownsStore = true;

  constructor(options: UpgradeOptions) {
    const o = validateOptions('createUpgrade', optionsSchema, options);
    this.#options = o;
    this.component = o.component;
    this.from = parseVersion(o.from).canonical;
    this.to = parseVersion(o.to).canonical;
    this.site = typeof o.site === 'string' ? { id: o.site } : (o.site as SiteInfo);
    this.events = o.events ?? new EventBus();
    this.#defaults = { timeoutMs: o.defaults.timeoutMs, retry: o.defaults.retry };
    this.hooks = this.#hookRegistrar();
    for (const [stage, hooks] of Object.entries(o.hooks)) {
      assertStage(stage, 'createUpgrade: `hooks`');
      for (const hook of Array.isArray(hooks) ? hooks : [hooks])
        this.#addHook(stage, hook as Hook<StageName>);
    }
    for (const step of o.steps as unknown as StagedStep[]) {
      const { stage, ...definition } = step;
      this.step(stage, definition as StepDefinition<typeof stage>);
    }
  }

  #hookRegistrar(): Hooks {
    const registrar = {} as Record<StageName, (hook: Hook<StageName>) => Hooks>;
    for (const stage of STAGES) {
      registrar[stage] = (hook) => {
        this.#addHook(stage, hook);
        return proxy;
      };
    }
    // JavaScript callers misspelling a stage get a clear error instead of "is not a function".
    const proxy = new Proxy(Object.freeze(registrar), {
      get(target, property, receiver) {
        if (
          typeof property === 'string' &&
          !(property in target) &&
          property !== 'then' &&
          property !== 'toJSON'
        ) {
          assertStage(property, 'upgrade.hooks');
        }
        return Reflect.get(target, property, receiver);
      },
    }) as unknown as Hooks;
    return proxy;
  }

  #addHook(stage: StageName, hook: Hook<StageName>): void {
    if (typeof hook !== 'function' && (typeof hook !== 'object' || hook === null)) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `upgrade.hooks.${stage}: expected a function or a step object, got ${typeof hook}`,
      );
    }
    const index = this.#hookCount.get(stage) ?? 0;
    this.#hookCount.set(stage, index + 1);
    this.step(stage, hookToDefinition(stage, hook, index));
  }

  /** Adds a step (a task, a transfer, a backup…) to a stage, after those already there. */
  step<S extends StageName>(stage: S, definition: StepDefinition<S>): this {
    assertStage(stage, 'upgrade.step');
    const list = this.#steps.get(stage)!;
    // Validate now, so a bad step is reported at registration, not halfway through an upgrade.
    const planned = [...list, definition as StepDefinition<StageName>].map((d) => this.#plan(stage, d));
    checkStageSteps(stage, planned);
    list.push(definition as StepDefinition<StageName>);
    return this;
  }

  #plan(stage: StageName, definition: StepDefinition<StageName>): PlannedStep {
    return planStep(stage, definition, {
      component: this.component,
      site: this.site.id,
      to: this.to,
      defaults: this.#defaults,
    });
  }

  /** The steps of a stage, in order, with defaults applied. */
  planned(stage: StageName): PlannedStep[] {
    assertStage(stage, 'upgrade.planned');
    return this.#steps.get(stage)!.map((d) => this.#plan(stage, d));
  }

  async #state(): Promise<StateStore> {
    if (!this.#store) {
      const state = this.#options.state as StateStore | StateOptions | undefined;
      if (state instanceof StateStore) {
        this.#ownsStore = false;
        this.#store = Promise.resolve(state);
      } else {
        this.#store = StateStore.open(
          state ?? { filename: join(process.cwd(), '.upgradekit', 'state.sqlite') },
        );
      }
    }
    return this.#store;
  }

  /** Runs one cut-point. Resumes: done steps are skipped. */
  async runStage(stage: StageName, options: { signal?: AbortSignal } = {}): Promise<StageResult> {
    assertStage(stage, 'upgrade.runStage');
    const result = await this.#invoke([stage], options.signal);
    return (
      result.stages[0] ?? {
        stage,
        status: result.status,
        steps: [],
        durationMs: result.durationMs,
        ...(result.error ? { error: result.error } : {}),
        rollbackOffered: result.rollbackOffered,
      }
    );
  }

  /** Runs every cut-point in order (or from `from` on), stopping at the first that does not succeed. */
  async run(options: { signal?: AbortSignal; from?: StageName } = {}): Promise<RunResult> {
    if (options.from !== undefined) assertStage(options.from, 'upgrade.run: `from`');
    const stages = options.from ? STAGES.slice(STAGES.indexOf(options.from)) : [...STAGES];
    return this.#invoke(stages, options.signal);
  }

  async #invoke(stages: readonly StageName[], signal: AbortSignal | undefined): Promise<RunResult> {
    const store = await this.#state();
    const runId = randomUUID();
    const controller = new AbortController();
    const signals = [controller.signal, this.#options.signal, signal].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    const combined = AbortSignal.any(signals);
    const started = performance.now();
    const onSignal = (name: NodeJS.Signals) =>
      controller.abort(new UpgradeKitError(ErrorCodes.ABORTED, `received ${name}`));
    const lock = await SiteLock.acquire(store, {
      component: this.component,
      site: this.site.id,
      runId,
      ...(this.#options.lock.ttlMs ? { ttlMs: this.#options.lock.ttlMs } : {}),
      events: this.events,
      onLost: (error) => controller.abort(error),
    });
    if (this.#options.handleSignals) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
    try {
      await store.startRun({
        runId,
        component: this.component,
        site: this.site.id,
        versionFrom: this.from,
        versionTo: this.to,
        host: hostname(),
        pid: process.pid,
        startedAt: Date.now(),
      });
      const executor = new Executor({
        store,
        runId,
        component: this.component,
        site: this.site,
        from: this.from,
        to: this.to,
        datasources: this.#options.datasources,
        hosts: this.#options.hosts as HostInfo[],
        events: this.events,
        signal: combined,
        states: await store.loadSteps(this.component, this.site.id),
      });
      const result = await this.#execute(executor, stages, runId, started);
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

  async #execute(
    executor: Executor,
    stages: readonly StageName[],
    runId: string,
    started: number,
  ): Promise<RunResult> {
    for (;;) {
      const results: StageResult[] = [];
      try {
        for (const stage of stages) {
          const result = await executor.runStage(stage, this.planned(stage));
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

  /** Where every step of this upgrade stands: done, pending, failed, skipped, in doubt. */
  async status(): Promise<StatusReport> {
    const store = await this.#state();
    const [states, lock, runs] = await Promise.all([
      store.loadSteps(this.component, this.site.id),
      SiteLock.holder(store, this.component, this.site.id),
      store.runs(this.component, this.site.id, 1),
    ]);
    const counts = { done: 0, pending: 0, failed: 0, skipped: 0, inDoubt: 0, running: 0 };
    const steps = STAGES.flatMap((stage) =>
      this.planned(stage).map((step): StepStatusRow => {
        const record = states.get(stepKeyString(step.key));
        let status = record?.status ?? 'pending';
        if ((status === 'running' || status === 'aborted') && lock?.runId !== record?.runId)
          status = 'in_doubt';
        if (status === 'succeeded') counts.done++;
        else if (status === 'skipped') counts.skipped++;
        else if (status === 'failed') counts.failed++;
        else if (status === 'in_doubt') counts.inDoubt++;
        else if (status === 'running') counts.running++;
        else counts.pending++;
        return {
          id: step.id,
          stage,
          ...(step.host ? { host: step.host } : {}),
          version: step.key.taskVersion,
          status,
          criticality: step.criticality,
          attempt: record?.attempt ?? 0,
          ...(record?.runId ? { runId: record.runId } : {}),
          ...(record?.startedAt ? { startedAt: record.startedAt } : {}),
          ...(record?.endedAt ? { endedAt: record.endedAt } : {}),
          ...(record?.error && status !== 'succeeded' ? { error: record.error } : {}),
        };
      }),
    );
    return {
      component: this.component,
      site: this.site.id,
      from: this.from,
      to: this.to,
      ...(lock ? { lock } : {}),
      ...(runs[0] ? { lastRun: runs[0] } : {}),
      steps,
      counts,
    };
  }

  /**
   * What `run()` (or `runStage()` for the given stages) would do now, without doing it: per step,
   * run or skip and why, or blocked on an operator decision. `skipIf` checks are evaluated (they
   * only read); nothing is written and no lock is taken.
   */
  async dryRun(options: { stages?: readonly StageName[] } = {}): Promise<DryRunEntry[]> {
    const stages = options.stages ?? STAGES;
    for (const stage of stages) assertStage(stage, 'upgrade.dryRun');
    const store = await this.#state();
    const states = await store.loadSteps(this.component, this.site.id);
    const lock = await SiteLock.holder(store, this.component, this.site.id);
    const executor = new Executor({
      store,
      runId: 'dry-run',
      component: this.component,
      site: this.site,
      from: this.from,
      to: this.to,
      datasources: this.#options.datasources,
      hosts: this.#options.hosts as HostInfo[],
      events: new EventBus(),
      signal: new AbortController().signal,
      states,
    });
    const entries: DryRunEntry[] = [];
    for (const stage of stages) {
      for (const step of this.planned(stage)) {
        const record = states.get(stepKeyString(step.key));
        const base = {
          stage,
          id: step.id,
          name: step.name,
          version: step.key.taskVersion,
          ...(step.host ? { host: step.host } : {}),
          ...(step.definition.summary ? { summary: step.definition.summary } : {}),
        };
        const checkDone = async () =>
          step.definition.skipIf
            ? Boolean(await step.definition.skipIf(executor.context(step, 0, new AbortController().signal)))
            : false;
        if (record && (record.status === 'succeeded' || record.status === 'skipped')) {
          const changed = Boolean(
            step.definition.checksum && record.checksum && record.checksum !== step.definition.checksum,
          );
          entries.push({
            ...base,
            action: 'skip',
            reason: `already done: ${record.status} in run ${record.runId}${changed ? '; its content changed since (see validate)' : ''}`,
          });
        } else if (
          record &&
          (record.status === 'in_doubt' ||
            ((record.status === 'running' || record.status === 'aborted') && lock?.runId !== record.runId))
        ) {
          if (step.definition.skipIf) {
            entries.push(
              (await checkDone())
                ? {
                    ...base,
                    action: 'skip',
                    reason: `interrupted in run ${record.runId}; skipIf finds it applied`,
                  }
                : {
                    ...base,
                    action: 'run',
                    reason: `interrupted in run ${record.runId}; skipIf finds it not applied`,
                  },
            );
          } else if (step.idempotent) {
            entries.push({
              ...base,
              action: 'run',
              reason: `interrupted in run ${record.runId}; idempotent, runs again`,
            });
          } else {
            entries.push({
              ...base,
              action: 'blocked',
              reason: `interrupted in run ${record.runId}; in doubt until resolved (applied|retry)`,
            });
          }
        } else if (await checkDone()) {
          entries.push({ ...base, action: 'skip', reason: 'skipIf: already done' });
        } else {
          entries.push({
            ...base,
            action: 'run',
            ...(record?.status === 'failed' ? { reason: `failed in run ${record.runId}; runs again` } : {}),
          });
        }
      }
    }
    return entries;
  }

  /** Steps that succeeded but whose content (checksum) has changed since. Accept with `repair`. */
  async validate(): Promise<ChecksumMismatch[]> {
    const store = await this.#state();
    const states = await store.loadSteps(this.component, this.site.id);
    return STAGES.flatMap((stage) => this.planned(stage)).flatMap((step) => {
      const record = states.get(stepKeyString(step.key));
      const now = step.definition.checksum;
      if (!record || !now || !record.checksum || record.checksum === now) return [];
      if (record.status !== 'succeeded' && record.status !== 'skipped') return [];
      return [
        {
          id: step.id,
          stage: step.stage,
          version: step.key.taskVersion,
          recorded: record.checksum,
          current: now,
          runId: record.runId,
        },
      ];
    });
  }

  /** Deliberately accepts the current content of a changed, already-succeeded step (audited). */
  async repair(stepId: string, options: { host?: string } = {}): Promise<void> {
    const mismatch = (await this.validate()).find((m) => m.id === stepId);
    if (!mismatch) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `upgrade.repair: step "${stepId}" has no checksum change to accept (see upgrade.validate())`,
      );
    }
    const step = this.planned(mismatch.stage).find(
      (s) => s.id === stepId && s.host === (options.host ?? ''),
    )!;
    const store = await this.#state();
    await store.setChecksum(step.key, mismatch.current, {
      runId: randomUUID(),
      stage: step.stage,
      taskName: step.name,
      versionFrom: this.from,
      versionTo: this.to,
    });
  }

  /**
   * Settles an in-doubt (or any) step by an operator's decision: `applied` records it as done,
   * `retry` lets the next run execute it again. Takes the site lock while it writes.
   */
  async resolve(
    stepId: string,
    decision: 'applied' | 'retry',
    options: { host?: string } = {},
  ): Promise<StepResult> {
    if (decision !== 'applied' && decision !== 'retry') {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `upgrade.resolve: decision must be "applied" or "retry" (got ${JSON.stringify(decision)})`,
      );
    }
    const step = STAGES.flatMap((stage) => this.planned(stage)).find(
      (s) => s.id === stepId && s.host === (options.host ?? ''),
    );
    if (!step) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `upgrade.resolve: no step "${stepId}"${options.host ? ` on host ${options.host}` : ''} in this upgrade`,
        { context: { step: stepId } },
      );
    }
    const store = await this.#state();
    const runId = randomUUID();
    const lock = await SiteLock.acquire(store, {
      component: this.component,
      site: this.site.id,
      runId,
      events: this.events,
    });
    try {
      // A step that resumes inside itself (statement by statement) saved `{ next, started }`: a
      // decision then settles the one statement in doubt, and the step continues after or at it.
      const record = await store.getStep(step.key);
      const statement = parseStatementProgress(record?.progress);
      if (statement?.started !== undefined) {
        await store.saveProgress(
          step.key,
          JSON.stringify({ next: statement.started + (decision === 'applied' ? 1 : 0) }),
        );
      }
      const status = decision === 'applied' && statement?.started === undefined ? 'succeeded' : 'pending';
      await store.setStepStatus(step.key, status, {
        runId,
        stage: step.stage,
        taskName: step.name,
        versionFrom: this.from,
        versionTo: this.to,
        reason: `resolved by operator: ${decision}`,
      });
      this.events.emit({
        type: 'log',
        level: 'warn',
        stage: step.stage,
        step: step.id,
        message: `step ${step.id} resolved by operator as "${decision}"`,
      });
      return {
        id: step.id,
        name: step.name,
        stage: step.stage,
        status: decision === 'applied' ? 'succeeded' : 'skipped',
        criticality: step.criticality,
        attempts: 0,
        durationMs: 0,
        reason: `resolved: ${decision}`,
      };
    } finally {
      await lock.release();
    }
  }

  async close(): Promise<void> {
    if (this.#store && this.#ownsStore) await (await this.#store).close();
    this.#store = undefined;
  }
}

function parseStatementProgress(
  progress: string | undefined,
): { next: number; started?: number } | undefined {
  if (!progress) return undefined;
  try {
    const value = JSON.parse(progress) as { next?: unknown; started?: unknown };
    if (typeof value.next !== 'number') return undefined;
    return { next: value.next, ...(typeof value.started === 'number' ? { started: value.started } : {}) };
  } catch {
    return undefined;
  }
}
