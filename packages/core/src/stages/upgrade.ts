import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import { describeError, ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { EventBus } from '../events/index.js';
import type {
  DatasourceMap,
  Hook,
  HookMap,
  Hooks,
  HostInfo,
  ResolveDecision,
  SiteInfo,
  StepDefinition,
} from '../model/index.js';
import { parseStage, STAGES, type StageInput, type StageName, toStage } from '../model/index.js';
import { validateOptions } from '../options/index.js';
import {
  holderIdentity,
  type LockAssessment,
  type ProcessIdentity,
  type ProcProbe,
  procProbe,
  SiteLock,
  type StateOptions,
  StateStore,
  type StepRecord,
} from '../state/index.js';
import { stepKeyString } from '../state/types.js';
import { compareVersions, parseVersion } from '../version/index.js';
import { Executor, RestartRun } from './executor.js';
import { findStep } from './identity.js';
import { type InterruptedRun, interruptedRun, type LockStatus, lockStatus } from './interrupted.js';
import {
  checkStageSteps,
  type Defaults,
  hookToDefinition,
  type PlannedStep,
  planStep,
  StepIdentities,
} from './normalize.js';
import { decisionLabel, parseDecision, type ResolveInput, resolution } from './operator-decision.js';
import { optionsSchema, type StagedStep, type UpgradeOptions } from './options.js';
import type {
  ChecksumMismatch,
  DryRunEntry,
  ResolveResult,
  StatusReport,
  StepStatusRow,
  StepStatusView,
} from './reports.js';
import { decideResume, type ResumeAction, type ResumeDecision, type ResumeFacts } from './resume.js';
import { describeProgress, resumeFacts } from './resume-facts.js';
import type { RunResult, StageResult, StageStatus } from './types.js';

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
export function createUpgrade<D extends DatasourceMap = DatasourceMap>(
  options: UpgradeOptions<D>,
): Upgrade<D> {
  return new Upgrade<D>(options);
}

export class Upgrade<D extends DatasourceMap = DatasourceMap> {
  readonly component: string;
  readonly from: string;
  readonly to: string;
  readonly site: SiteInfo;
  readonly events: EventBus;
  readonly hooks: Hooks<D>;
  readonly #options: z.output<typeof optionsSchema>;
  readonly #defaults: Defaults;
  readonly #steps = new Map<StageName, StepDefinition<StageName>[]>(STAGES.map((s) => [s, []]));
  readonly #identities = new StepIdentities();
  #hookCount = new Map<StageName, number>();
  #store: Promise<StateStore> | undefined;
  #ownsStore = true;

  constructor(options: UpgradeOptions<D>) {
    const o = validateOptions('createUpgrade', optionsSchema, options);
    this.#options = o;
    this.component = o.component;
    this.from = parseVersion(o.from).canonical;
    this.to = parseVersion(o.to).canonical;
    this.site = typeof o.site === 'string' ? { id: o.site } : (o.site as SiteInfo);
    this.events = o.events ?? new EventBus();
    this.#defaults = { timeoutMs: o.defaults.timeoutMs, retry: o.defaults.retry };
    this.hooks = this.#hookRegistrar();
    for (const [name, hooks] of Object.entries(o.hooks)) {
      const stage = parseStage(name, 'createUpgrade: `hooks`');
      for (const hook of Array.isArray(hooks) ? hooks : [hooks])
        this.#addHook(stage, hook as Hook<StageName>);
    }
    for (const step of o.steps as unknown as StagedStep[]) {
      const { stage, ...definition } = step;
      this.step(stage, definition as StepDefinition<typeof stage>);
    }
  }

  #hookRegistrar(): Hooks<D> {
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
          // `hooks.in_stop(…)` is `hooks.preStart(…)`: the release's name for the same cut-point.
          return target[parseStage(property, 'upgrade.hooks')];
        }
        return Reflect.get(target, property, receiver);
      },
    }) as unknown as Hooks<D>;
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
  step<S extends StageName>(name: S, definition: StepDefinition<S, D>): this {
    const stage = parseStage(name, 'upgrade.step');
    const list = this.#steps.get(stage)!;
    // Validate now, so a bad step is reported at registration, not halfway through an upgrade.
    const planned = [...list, definition as StepDefinition<StageName>].map((d) => this.#plan(stage, d));
    checkStageSteps(stage, planned);
    // Ids are unique per (host, version) across the whole upgrade: that is the key of its state.
    this.#identities.add(planned.at(-1)!, list.length);
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
  planned(name: StageInput): PlannedStep[] {
    const stage = parseStage(name, 'upgrade.planned');
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
      // What a step's failure quotes (a driver's error, a program's stderr) is stored masked.
      this.#store = this.#store.then((store) => {
        store.maskWith((value) => this.events.redact(value));
        return store;
      });
    }
    return this.#store;
  }

  /** Runs one cut-point. Resumes: done steps are skipped. */
  async runStage(name: StageInput, options: { signal?: AbortSignal } = {}): Promise<StageResult> {
    const stage = parseStage(name, 'upgrade.runStage');
    const result = await this.#invoke([stage], options.signal);
    const signal = result.signal ? { signal: result.signal } : {};
    const first = result.stages[0];
    return first
      ? { ...first, ...signal }
      : {
          stage,
          status: result.status,
          steps: [],
          durationMs: result.durationMs,
          ...(result.error ? { error: result.error } : {}),
          rollbackOffered: result.rollbackOffered,
          ...signal,
        };
  }

  /**
   * Runs every cut-point in order (or from `from` on, up to `until`), stopping at the first that
   * does not succeed.
   */
  async run(
    options: { signal?: AbortSignal; from?: StageInput; until?: StageInput } = {},
  ): Promise<RunResult> {
    const from = options.from === undefined ? undefined : parseStage(options.from, 'upgrade.run: `from`');
    const until = options.until === undefined ? undefined : parseStage(options.until, 'upgrade.run: `until`');
    const stages = STAGES.slice(
      from ? STAGES.indexOf(from) : 0,
      until ? STAGES.indexOf(until) + 1 : STAGES.length,
    );
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
    let executor: Executor | undefined;
    let received: 'SIGINT' | 'SIGTERM' | undefined;
    const onSignal = (name: 'SIGINT' | 'SIGTERM') => {
      if (received === undefined) {
        received = name;
        this.#stopping(name, executor);
        controller.abort(
          new UpgradeKitError(ErrorCodes.ABORTED, `received ${name}`, { context: { signal: name } }),
        );
        return;
      }
      this.#forcedExit(name, executor);
    };
    const lock = await SiteLock.acquire(store, {
      component: this.component,
      site: this.site.id,
      runId,
      ...(this.#options.lock.ttlMs ? { ttlMs: this.#options.lock.ttlMs } : {}),
      ...this.#liveness(),
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
      executor = new Executor({
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
      const executed = await this.#execute(executor, stages, runId, started);
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
  #stopping(name: 'SIGINT' | 'SIGTERM', executor: Executor | undefined): void {
    const running = executor?.inFlight() ?? [];
    const what = running.length
      ? `stopping: ${running.map((r) => r.id).join(', ')} is cancelled (its running statement or program is stopped, its open transaction rolled back) and nothing more is committed`
      : 'stopping before the next step';
    this.events.emit({
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
  #forcedExit(name: 'SIGINT' | 'SIGTERM', executor: Executor | undefined): never {
    const running = executor?.inFlight() ?? [];
    const lines = running.map(
      (r) => `  - ${r.id}${r.host ? ` on ${r.host}` : ''} (stage ${r.stage}): ${r.note}`,
    );
    this.events.emit({
      type: 'log',
      level: 'error',
      message: running.length
        ? `received ${name} again: exiting now, without waiting for the running step to stop. What may be left:\n${lines.join('\n')}\nThe next run resumes from here (it takes over this run's lock once this process is gone).`
        : `received ${name} again: exiting now; no step was running, so nothing is in doubt.`,
    });
    process.exit(128 + (name === 'SIGINT' ? 2 : 15));
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

  /** Every step of this upgrade, stage by stage, with defaults applied. */
  /** A step of this upgrade's versions: after `from`, up to `to`. */
  #inRange(version: string): boolean {
    try {
      return compareVersions(version, this.from) > 0 && compareVersions(version, this.to) <= 0;
    } catch {
      return false;
    }
  }

  #allPlanned(): PlannedStep[] {
    return STAGES.flatMap((stage) => this.planned(stage));
  }

  /**
   * The resume decision for one step as a reader sees it (no lock taken): `liveRunId` is the site
   * lock's holder while it is alive (`#whoRuns`), and a step a dead run left `running` is settled
   * from its attempt's log row.
   */
  async #readDecision(
    store: StateStore,
    step: PlannedStep,
    record: StepRecord | undefined,
    liveRunId: string | undefined,
  ): Promise<{ decision: ResumeDecision; facts: ResumeFacts }> {
    const dead = record?.status === 'running' && record.runId !== liveRunId && record.logId !== undefined;
    const outcome = dead ? await store.attemptOutcome(record.logId!) : undefined;
    const facts = resumeFacts(step, record, { liveRunId, outcome });
    return { decision: decideResume(facts), facts };
  }

  /** Tests may stand in for this process's identity and for /proc (`lock.identity`, `lock.probe`). */
  #liveness(): { identity?: ProcessIdentity; probe?: ProcProbe } {
    const { identity, probe } = this.#options.lock;
    return { ...(identity ? { identity } : {}), ...(probe ? { probe } : {}) };
  }

  /**
   * Who holds the site lock and whether its run is alive, as a reader sees it. A stale holder —
   * proven dead, or silent past its TTL — has no live run: a step it left `running` was
   * interrupted, and gets the same decision the next run will take.
   */
  async #whoRuns(
    store: StateStore,
  ): Promise<{ lock: LockAssessment | undefined; liveRunId: string | undefined; now: number }> {
    const now = Date.now();
    const lock = await SiteLock.assess(store, this.component, this.site.id, { ...this.#liveness(), now });
    return { lock, liveRunId: lock && !lock.stale ? lock.holder.runId : undefined, now };
  }

  /**
   * Where every step of this upgrade stands — done, pending, failed, skipped, in doubt (an operator
   * decides), interrupted (the next run resumes it by itself) — what the next run does with each,
   * who holds the site lock, and which run, if any, was interrupted.
   */
  async status(): Promise<StatusReport> {
    const store = await this.#state();
    let { lock, liveRunId, now } = await this.#whoRuns(store);
    const states = await store.loadSteps(this.component, this.site.id);
    let [lastRun] = await store.runs(this.component, this.site.id, 1);
    if (!lock && lastRun?.status === 'running') {
      // A run may have taken the lock and recorded itself between the two reads: look again.
      ({ lock, liveRunId, now } = await this.#whoRuns(store));
      [lastRun] = await store.runs(this.component, this.site.id, 1);
    }
    const interrupted = interruptedRun(lock, lastRun, {
      identity: this.#options.lock.identity ?? holderIdentity(),
      probe: this.#options.lock.probe ?? procProbe,
      now,
    });
    const counts = { done: 0, pending: 0, failed: 0, skipped: 0, inDoubt: 0, interrupted: 0, running: 0 };
    const steps: StepStatusRow[] = [];
    for (const step of this.#allPlanned()) {
      const record = states.get(stepKeyString(step.key));
      const { decision } = await this.#readDecision(store, step, record, liveRunId);
      const status: StepStatusView =
        decision.state === 'in_doubt' && !decision.needsOperator ? 'interrupted' : decision.state;
      if (status === 'succeeded') counts.done++;
      else if (status === 'skipped') counts.skipped++;
      else if (status === 'failed') counts.failed++;
      else if (status === 'in_doubt') counts.inDoubt++;
      else if (status === 'interrupted') counts.interrupted++;
      else if (status === 'running') counts.running++;
      else counts.pending++;
      const progress = describeProgress(step, record?.progress);
      steps.push({
        id: step.id,
        stage: step.stage,
        ...(step.host ? { host: step.host } : {}),
        version: step.key.taskVersion,
        status,
        criticality: step.criticality,
        attempt: record?.attempt ?? 0,
        ...(record?.runId ? { runId: record.runId } : {}),
        ...(record?.startedAt ? { startedAt: record.startedAt } : {}),
        ...(record?.endedAt ? { endedAt: record.endedAt } : {}),
        ...(record?.error && status !== 'succeeded' ? { error: record.error } : {}),
        next: {
          action: decision.action,
          ...(decision.reason ? { reason: withNote(decision) } : {}),
          needsOperator: decision.needsOperator,
        },
        ...(progress !== undefined ? { progress } : {}),
      });
    }
    // Steps this program did not register but a run of this upgrade recorded: a team script's
    // hooks seen from the CLI, a rollout's per-host rows. Left out, a failed hook would hide.
    const planned = new Set(this.#allPlanned().map((step) => stepKeyString(step.key)));
    for (const [key, record] of states) {
      const stage = toStage(record.stage);
      if (planned.has(key) || !stage || !this.#inRange(record.taskVersion)) continue;
      const outcome =
        record.status === 'running' && record.runId !== liveRunId && record.logId !== undefined
          ? await store.attemptOutcome(record.logId)
          : undefined;
      const decision = decideResume({
        status: record.status,
        runId: record.runId,
        runAlive: record.runId === liveRunId,
        ...(outcome !== undefined ? { outcome } : {}),
        idempotent: false,
        changed: false,
        check: 'none',
      });
      const status: StepStatusView = decision.state;
      if (status === 'succeeded') counts.done++;
      else if (status === 'skipped') counts.skipped++;
      else if (status === 'failed') counts.failed++;
      else if (status === 'in_doubt') counts.inDoubt++;
      else if (status === 'running') counts.running++;
      else counts.pending++;
      steps.push({
        id: record.taskId,
        stage,
        ...(record.host ? { host: record.host } : {}),
        version: record.taskVersion,
        status,
        criticality: 'core',
        attempt: record.attempt,
        runId: record.runId,
        ...(record.startedAt ? { startedAt: record.startedAt } : {}),
        ...(record.endedAt ? { endedAt: record.endedAt } : {}),
        ...(record.error && status !== 'succeeded' ? { error: record.error } : {}),
        registered: false,
        next: {
          action: decision.action,
          reason: `${decision.reason ?? decision.action}; registered by the program that ran it (a script's hook, a rollout host), which decides`,
          needsOperator: decision.needsOperator,
        },
      });
    }
    return {
      component: this.component,
      site: this.site.id,
      from: this.from,
      to: this.to,
      ...(lock ? { lock: lockStatus(lock, now) } : {}),
      ...(interrupted ? { interrupted } : {}),
      ...(lastRun ? { lastRun } : {}),
      steps,
      counts,
    };
  }

  /**
   * What `run()` (or `runStage()` for the given stages) would do now, without doing it: per step,
   * run, resume or skip and why, or blocked on an operator decision. `skipIf` checks are evaluated
   * (they only read); nothing is written and no lock is taken.
   */
  async dryRun(options: { stages?: readonly StageInput[] } = {}): Promise<DryRunEntry[]> {
    const stages = (options.stages ?? STAGES).map((stage) => parseStage(stage, 'upgrade.dryRun'));
    const store = await this.#state();
    const { liveRunId } = await this.#whoRuns(store);
    const states = await store.loadSteps(this.component, this.site.id);
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
        let { decision, facts } = await this.#readDecision(store, step, record, liveRunId);
        if (decision.action === 'check') {
          const applied = await step.definition.skipIf!(
            executor.context(step, 0, new AbortController().signal),
          );
          decision = decideResume({ ...facts, answer: applied ? 'applied' : 'not-applied' });
        }
        const progress = describeProgress(step, record?.progress);
        entries.push({
          stage,
          id: step.id,
          name: step.name,
          version: step.key.taskVersion,
          ...(step.host ? { host: step.host } : {}),
          ...(step.definition.summary ? { summary: step.definition.summary } : {}),
          // A step that resumes only to stop on the part in doubt is, for the operator, blocked.
          action: decision.needsOperator ? 'blocked' : decision.action === 'check' ? 'run' : decision.action,
          ...(decision.reason ? { reason: withNote(decision) } : {}),
          ...(progress !== undefined ? { progress } : {}),
        });
      }
    }
    return entries;
  }

  /** Steps that succeeded but whose content (checksum) has changed since. Accept with `repair`. */
  async validate(): Promise<ChecksumMismatch[]> {
    const store = await this.#state();
    const states = await store.loadSteps(this.component, this.site.id);
    return this.#allPlanned().flatMap((step) => {
      const record = states.get(stepKeyString(step.key));
      const now = step.definition.checksum;
      if (!record || !now || !record.checksum || record.checksum === now) return [];
      if (record.status !== 'succeeded' && record.status !== 'skipped') return [];
      return [
        {
          id: step.id,
          stage: step.stage,
          version: step.key.taskVersion,
          ...(step.host ? { host: step.host } : {}),
          recorded: record.checksum,
          current: now,
          runId: record.runId,
        },
      ];
    });
  }

  /** Deliberately accepts the current content of a changed, already-succeeded step (audited). */
  async repair(stepId: string, options: { host?: string; version?: string } = {}): Promise<void> {
    const step = findStep(this.#allPlanned(), stepId, options, 'upgrade.repair');
    const mismatch = (await this.validate()).find(
      (m) => m.id === stepId && m.version === step.key.taskVersion && (m.host ?? '') === step.host,
    );
    if (!mismatch) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `upgrade.repair: step "${stepId}" has no checksum change to accept (see upgrade.validate())`,
      );
    }
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
   * Settles a failed or in-doubt step by an operator's decision: `applied` (the failed or in-doubt
   * part took effect), `retry` (run it again), `restart` (forget saved progress), or
   * `{ kind: 'from', position }`. A step that keeps progress of its own applies the decision to it
   * (`resolveProgress`); any other is done (`applied`) or runs again from the start. Takes the site
   * lock while it writes. `version` names the step when its id is in more than one version.
   */
  async resolve(
    stepId: string,
    input: ResolveInput,
    options: { host?: string; version?: string } = {},
  ): Promise<ResolveResult> {
    const decision = parseDecision(input);
    const step = findStep(this.#allPlanned(), stepId, options, 'upgrade.resolve');
    const store = await this.#state();
    const runId = randomUUID();
    const lock = await SiteLock.acquire(store, {
      component: this.component,
      site: this.site.id,
      runId,
      ...this.#liveness(),
      events: this.events,
    });
    try {
      const record = await store.getStep(step.key);
      const outcome = resolution(step, record?.progress, decision);
      const status = outcome.done ? 'succeeded' : 'pending';
      const label = decisionLabel(decision);
      await store.setStepStatus(step.key, status, {
        runId,
        stage: step.stage,
        taskName: step.name,
        versionFrom: this.from,
        versionTo: this.to,
        reason: `resolved by operator: ${label} — ${outcome.message}`,
        progress: outcome.progress ?? null,
      });
      this.events.emit({
        type: 'log',
        level: 'warn',
        stage: step.stage,
        step: step.id,
        ...(step.host ? { host: step.host } : {}),
        message: `step ${step.id} (version ${step.key.taskVersion}) resolved by operator as "${label}": ${outcome.message}`,
      });
      return {
        id: step.id,
        name: step.name,
        stage: step.stage,
        version: step.key.taskVersion,
        ...(step.host ? { host: step.host } : {}),
        decision,
        status,
        message: outcome.message,
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

/** A decision's reason with what a reader should also know (a changed checksum). */
function withNote(decision: ResumeDecision): string {
  return decision.note ? `${decision.reason}; ${decision.note}` : decision.reason!;
}

export type {
  ChecksumMismatch,
  DryRunEntry,
  ResolveResult,
  StagedStep,
  StatusReport,
  StepStatusRow,
  StepStatusView,
  UpgradeOptions,
};
