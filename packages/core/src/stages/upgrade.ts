import { randomUUID } from 'node:crypto';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { EventBus } from '../events/index.js';
import type { DatasourceMap, Hook, Hooks, SiteInfo, StepDefinition } from '../model/index.js';
import { parseStage, STAGES, type StageInput, type StageName } from '../model/index.js';
import { validateOptions } from '../options/index.js';
import { stepKeyString } from '../state/internal.js';
import { parseVersion } from '../version/index.js';
import { UpgradeCore } from './core.js';
import { findStep } from './identity.js';
import { dryRun, status } from './inspect.js';
import type { PlannedStep } from './normalize.js';
import type { ResolveInput } from './operator-decision.js';
import { optionsSchema, type StagedStep, type UpgradeOptions } from './options.js';
import { StepRegistry } from './registry.js';
import type {
  ChecksumMismatch,
  DryRunEntry,
  ResolveResult,
  StatusReport,
  StepStatusRow,
  StepStatusView,
} from './reports.js';
import { resolve } from './resolve.js';
import { runOneStage, runStages } from './run.js';
import type { RunResult, StageResult } from './types.js';

// The public face of an upgrade. Each job is a file of its own — registering steps (registry.ts),
// running (run.ts), reading (inspect.ts), settling by an operator (resolve.ts) — over one shared
// `UpgradeCore` (core.ts); this class checks the arguments, names the caller in its errors
// (`upgrade.run: …`) and delegates. Accepting a changed checksum (`validate`, `repair`) is short
// and stays here, with the step-key import the architecture test knows this file by.

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
  readonly #core: UpgradeCore;

  constructor(options: UpgradeOptions<D>) {
    const o = validateOptions('createUpgrade', optionsSchema, options);
    this.component = o.component;
    this.from = parseVersion(o.from).canonical;
    this.to = parseVersion(o.to).canonical;
    this.site = typeof o.site === 'string' ? { id: o.site } : (o.site as SiteInfo);
    this.events = o.events ?? new EventBus();
    const steps = new StepRegistry({
      component: this.component,
      site: this.site.id,
      to: this.to,
      defaults: { timeoutMs: o.defaults.timeoutMs, retry: o.defaults.retry },
    });
    this.hooks = steps.hooks as unknown as Hooks<D>;
    this.#core = new UpgradeCore({
      component: this.component,
      from: this.from,
      to: this.to,
      site: this.site,
      events: this.events,
      options: o,
      steps,
    });
    for (const [name, hooks] of Object.entries(o.hooks)) {
      const stage = parseStage(name, 'createUpgrade: `hooks`');
      for (const hook of Array.isArray(hooks) ? hooks : [hooks])
        steps.addHook(stage, hook as Hook<StageName>);
    }
    for (const step of o.steps as unknown as StagedStep[]) {
      const { stage, ...definition } = step;
      this.step(stage, definition as StepDefinition<typeof stage>);
    }
  }

  /** Adds a step (a task, a transfer, a backup…) to a stage, after those already there. */
  step<S extends StageName>(name: S, definition: StepDefinition<S, D>): this {
    this.#core.steps.add(parseStage(name, 'upgrade.step'), definition as StepDefinition<StageName>);
    return this;
  }

  /** The steps of a stage, in order, with defaults applied. */
  planned(name: StageInput): PlannedStep[] {
    return this.#core.steps.planned(parseStage(name, 'upgrade.planned'));
  }

  /** Runs one cut-point. Resumes: done steps are skipped. */
  async runStage(name: StageInput, options: { signal?: AbortSignal } = {}): Promise<StageResult> {
    return runOneStage(this.#core, parseStage(name, 'upgrade.runStage'), options.signal);
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
    return runStages(this.#core, { from, until }, options.signal);
  }

  /**
   * Where every step of this upgrade stands — done, pending, failed, skipped, in doubt (an operator
   * decides), interrupted (the next run resumes it by itself) — what the next run does with each,
   * who holds the site lock, and which run, if any, was interrupted.
   */
  async status(): Promise<StatusReport> {
    return status(this.#core);
  }

  /**
   * What `run()` (or `runStage()` for the given stages) would do now, without doing it: per step,
   * run, resume or skip and why, or blocked on an operator decision. `skipIf` checks are evaluated
   * (they only read); nothing is written and no lock is taken.
   */
  async dryRun(options: { stages?: readonly StageInput[] } = {}): Promise<DryRunEntry[]> {
    const stages = (options.stages ?? STAGES).map((stage) => parseStage(stage, 'upgrade.dryRun'));
    return dryRun(this.#core, stages);
  }

  /** Steps that succeeded but whose content (checksum) has changed since. Accept with `repair`. */
  async validate(): Promise<ChecksumMismatch[]> {
    const store = await this.#core.state();
    const states = await store.loadSteps(this.component, this.site.id);
    return this.#core.steps.all().flatMap((step) => {
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
    const step = findStep(this.#core.steps.all(), stepId, options, 'upgrade.repair');
    const mismatch = (await this.validate()).find(
      (m) => m.id === stepId && m.version === step.key.taskVersion && (m.host ?? '') === step.host,
    );
    if (!mismatch) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `upgrade.repair: step "${stepId}" has no checksum change to accept (see upgrade.validate())`,
      );
    }
    const store = await this.#core.state();
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
    return resolve(this.#core, stepId, input, options);
  }

  async close(): Promise<void> {
    await this.#core.close();
  }
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
