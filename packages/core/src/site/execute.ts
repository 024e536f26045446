import type { AssessmentReport } from '../assess/index.js';
import type { EventBus } from '../events/index.js';
import { parseStage, STAGES, type StageName } from '../model/index.js';
import { TASK_STAGES } from '../model/internal.js';
import { anObject, checkArguments } from '../options/index.js';
import type { IncompatibleTask, StageOrderWarning } from '../plan/index.js';
import type { DryRunEntry, RunResult, StageResult } from '../stages/index.js';
import { assessSite } from './assess.js';
import type { PreparedUpgrade } from './prepare.js';

export interface ExecuteOptions {
  /** Run only this cut-point (what a CI pipeline calls between its own stop/install/start). */
  readonly stage?: string;
  /** Say what would run and why, execute nothing. */
  readonly dryRun?: boolean;
  /**
   * Asked once, before anything runs, when there is anything to confirm (`ConfirmReasons`): the
   * assessment warns, tasks carry no compatibility annotation, or tasks would run ahead of older
   * versions' work. Resolve `true` to go on (`--yes`). Default: refuse.
   */
  readonly confirm?: (reasons: ConfirmReasons) => boolean | Promise<boolean>;
  /**
   * Wraps the run itself, after the checks above — a terminal UI draws it while it runs.
   * `stages` are the cut-points about to run.
   */
  readonly around?: <R>(stages: readonly StageName[], run: () => Promise<R>) => Promise<R>;
  /**
   * Assess first: a `fail` verdict stops before anything runs; a `warn` verdict needs `confirm`.
   * Default: when every stage runs (a CI pipeline calling one `stage` runs `assess` as a step of
   * its own).
   */
  readonly assess?: boolean;
  /** Called with the assessment as soon as it is made, before anything runs: show it. */
  readonly onAssessment?: (report: AssessmentReport) => void | Promise<void>;
  /** Where the assessment's events go (SSH drops, retries). */
  readonly events?: EventBus;
  /** Assessment check ids whose failure or warning the operator accepts for this run (`--accept`). */
  readonly accept?: readonly string[];
  /**
   * Who stops and starts the services around a stop-mode upgrade. A whole run does not (yet): it
   * is refused (`needs-services`) unless they are `external` — the pipeline's — and then it runs
   * up to `preUpgrade` and stops there, for the pipeline to stop them and call `preStart`.
   */
  readonly services?: 'external';
}

/** Everything one confirmation covers: one decision, one question. */
export interface ConfirmReasons {
  /** The assessment, when its verdict is `warn`. */
  readonly assessment?: AssessmentReport;
  /**
   * Tasks with no compatibility annotation (`compatibleFrom`): nobody has said they are safe
   * while the old version runs.
   */
  readonly tasks: readonly IncompatibleTask[];
  /**
   * Tasks this run would start ahead of older versions' work on their datasource (an
   * orchestration override, `plan.orderWarnings`): that work may not have run yet.
   */
  readonly order: readonly StageOrderWarning[];
}

export type ExecuteOutcome =
  | { readonly kind: 'dry-run'; readonly steps: readonly DryRunEntry[] }
  | { readonly kind: 'nothing-to-do'; readonly steps: readonly DryRunEntry[]; readonly message: string }
  | {
      readonly kind: 'needs-confirmation';
      readonly tasks: readonly IncompatibleTask[];
      /** Set when it is the assessment's warnings that need the confirmation. */
      readonly assessment?: AssessmentReport;
      /** Tasks this run would start ahead of older versions' work: confirmed by `confirmOrder`. */
      readonly order?: readonly StageOrderWarning[];
    }
  | { readonly kind: 'assessment-failed'; readonly assessment: AssessmentReport }
  /** A whole run of a stop-mode plan, with nobody named to stop the services: nothing ran. */
  | { readonly kind: 'needs-services'; readonly reasons: readonly IncompatibleTask[] }
  | {
      readonly kind: 'ran';
      readonly result: RunResult | StageResult;
      readonly stages: readonly StageResult[];
      readonly assessment?: AssessmentReport;
      /** The last cut-point this run went to: `preUpgrade` when the services are the pipeline's to stop. */
      readonly until?: StageName;
    };

/**
 * Runs a prepared upgrade the way an operator and a CI step expect: a dry run when asked; "nothing
 * to do" (and no run recorded) when every step already succeeded; the assessment (a whole run);
 * a confirmation for warnings and unannotated tasks before anything executes; then the stage or
 * every stage, resuming what was interrupted.
 *
 * @example
 * const outcome = await executeUpgrade(prepared, { stage: 'preStart', confirm: () => flags.yes });
 * if (outcome.kind === 'ran' && outcome.result.status !== 'succeeded') process.exitCode = 1;
 */
export async function executeUpgrade(
  prepared: PreparedUpgrade,
  options: ExecuteOptions = {},
): Promise<ExecuteOutcome> {
  checkArguments(
    'executeUpgrade',
    { prepared: anObject('what prepareUpgrade() returned'), options: anObject('an options object') },
    { prepared, options },
  );
  const stage = options.stage === undefined ? undefined : parseStage(options.stage, 'stage');
  const { upgrade, plan, release } = prepared;
  const steps = await upgrade.dryRun(stage ? { stages: [stage] } : {});
  if (options.dryRun) return { kind: 'dry-run', steps };
  // A stage called before an earlier one finished (a pipeline's steps out of order) is said, not refused.
  if (stage) {
    const earlier = STAGES.slice(0, STAGES.indexOf(stage));
    const open =
      earlier.length > 0
        ? (await upgrade.dryRun({ stages: earlier })).filter((s) => s.action !== 'skip')
        : [];
    if (open.length > 0)
      (options.events ?? upgrade.events).emit({
        type: 'log',
        level: 'warn',
        message: `stage ${stage} runs before earlier stages finished: ${[...new Set(open.map((s) => s.stage))].join(', ')} still ha${open.length === 1 ? 's a step' : 've steps'} to run (${open.map((s) => s.id).join(', ')})`,
      });
  }
  if (steps.every((s) => s.action === 'skip')) {
    const where = `${release.component} ${plan.from} → ${plan.to} on site ${upgrade.site.id}${stage ? `, stage ${stage}` : ''}`;
    const message =
      steps.length === 0
        ? `Nothing to do: ${where} — ${stage ? 'this stage has' : 'this upgrade has'} no steps.`
        : `Nothing to do: ${where} — ${steps.length === 1 ? 'its one step is' : `all ${steps.length} steps are`} already done.`;
    return { kind: 'nothing-to-do', steps, message };
  }
  // A stop-mode upgrade changes what the running version cannot live with: a whole run must not
  // go past preUpgrade while the services may still run, and it cannot stop them itself yet.
  const stopMode = plan.mode === 'stop' && stage === undefined;
  if (stopMode && options.services !== 'external')
    return { kind: 'needs-services', reasons: plan.incompatible };
  const until: StageName | undefined = stopMode ? 'preUpgrade' : undefined;
  let assessment: AssessmentReport | undefined;
  if (options.assess ?? stage === undefined) {
    assessment = await assessSite(prepared, prepared.config, {
      ...(options.events ? { events: options.events } : {}),
      ...(options.accept?.length ? { accept: options.accept } : {}),
    });
    await options.onAssessment?.(assessment);
    if (assessment.verdict === 'fail') return { kind: 'assessment-failed', assessment };
  }
  // Only what this invocation starts: a later `--stage` run, or a resume after the early task
  // succeeded, has nothing left to put out of order.
  const starts = (w: StageOrderWarning) =>
    steps.some(
      (s) =>
        s.action !== 'skip' &&
        s.stage === TASK_STAGES[w.task.stage] &&
        s.id === w.task.id &&
        s.version === w.task.version,
    );
  const order = plan.orderWarnings.filter(starts);
  // Logged whatever the answers: a --yes given for one reason must not pass another unseen.
  for (const w of order) {
    (options.events ?? upgrade.events).emit({
      type: 'log',
      level: 'warn',
      message: `task order across versions: ${w.message}`,
      fields: { code: w.code, task: w.task.id, version: w.task.version },
    });
  }
  const unannotated = plan.incompatible.filter((i) => i.needsConfirmation);
  const warns = assessment?.verdict === 'warn';
  if (warns || unannotated.length > 0 || order.length > 0) {
    const reasons: ConfirmReasons = {
      ...(warns ? { assessment } : {}),
      tasks: unannotated,
      order,
    };
    if (!(await options.confirm?.(reasons)))
      return {
        kind: 'needs-confirmation',
        tasks: unannotated,
        ...(order.length > 0 ? { order } : {}),
        ...(assessment ? { assessment } : {}),
      };
  }
  const go = (): Promise<RunResult | StageResult> =>
    stage ? upgrade.runStage(stage) : upgrade.run(until ? { until } : {});
  const stages = stage ? [stage] : until ? STAGES.slice(0, STAGES.indexOf(until) + 1) : STAGES;
  const result = options.around ? await options.around(stages, go) : await go();
  return {
    kind: 'ran',
    result,
    stages: 'stages' in result ? result.stages : [result],
    ...(assessment ? { assessment } : {}),
    ...(until ? { until } : {}),
  };
}
