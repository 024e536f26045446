// `run`: what each of the five outcomes of executeUpgrade means for the operator, said once.
import { isAbsolute, join } from 'node:path';
import type { AssessmentReport } from '../assess/index.js';
import { renderAssessmentMarkdown } from '../assess/index.js';
import { formatDuration } from '../events/index.js';
import { STAGES, type StageName } from '../model/index.js';
import { formatPlanMarkdown, type Plan } from '../plan/index.js';
import type { Release } from '../release/index.js';
import type { ExecuteOutcome } from '../site/index.js';
import {
  type DryRunEntry,
  formatRunMarkdown,
  formatStageSummary,
  idRepeats,
  markdownCell,
  type RunResult,
  type StageResult,
  type StepResult,
} from '../stages/index.js';
import { failedChecks } from './assess.js';
import type { CommandInput } from './input.js';
import { resolveCommand, rollbackCommand, siteArgs } from './next.js';
import { planDocument, planLines } from './plan.js';
import {
  type Annotation,
  type CommandResult,
  commandResult,
  type ExitClass,
  type NextCommand,
  pasteable,
} from './result.js';

type RunInput = Extract<CommandInput, { command: 'run' }>;

export interface RunContext {
  readonly input: RunInput;
  readonly release: Release;
  readonly plan: Plan;
  readonly site: string;
  /** Whether the site configuration has a `backup:` section: a failed run offers its rollback. */
  readonly hasBackup: boolean;
  /** Whether a step's id is in more than one version of the upgrade (a printed resolve names the version). */
  readonly repeats: (step: { readonly id: string; readonly version: string }) => boolean;
  /** How the surface says "confirm": `--yes` or `yes: true`. */
  readonly yes: string;
  /** Where this site's state is (`describeStateLocation`): said on every run. */
  readonly state?: string;
}

export function runResult(outcome: ExecuteOutcome, ctx: RunContext): CommandResult {
  const result = outcomeResult(outcome, ctx);
  // Its default is relative to the working directory: every run says where it read and wrote.
  if (!ctx.state) return result;
  return {
    ...result,
    text: [...result.text, `  state: ${ctx.state}`],
    document: { ...result.document, state: ctx.state },
  };
}

function outcomeResult(outcome: ExecuteOutcome, ctx: RunContext): CommandResult {
  const { release, plan } = ctx;
  const mode = plan.mode;
  const planMarkdown = formatPlanMarkdown(release, plan);
  const assessed =
    'assessment' in outcome && outcome.assessment ? `${renderAssessmentMarkdown(outcome.assessment)}\n` : '';
  switch (outcome.kind) {
    case 'dry-run':
      return commandResult({
        command: 'run',
        status: 'dry-run',
        exitClass: 'ok',
        mode,
        document: { dryRun: true, plan: planDocument(release, plan), steps: outcome.steps },
        text: [...planLines(release, plan), ...dryRunLines(outcome.steps)],
        markdown: `${planMarkdown}\n${outcome.steps.map((s) => `- ${s.action} \`${s.stage}\` ${s.name}${s.reason ? ` — ${s.reason}` : ''}`).join('\n')}\n`,
      });
    case 'nothing-to-do':
      return commandResult({
        command: 'run',
        status: 'succeeded',
        exitClass: 'ok',
        mode,
        document: { nothingToDo: true, message: outcome.message, steps: outcome.steps },
        text: [outcome.message],
        markdown: `### ✅ ${outcome.message}\n`,
      });
    case 'assessment-failed': {
      const failure = `The assessment failed: nothing was run. Failed checks: ${failedChecks(outcome.assessment)}. Fix them, then run again.`;
      return commandResult({
        command: 'run',
        status: 'assessment-failed',
        exitClass: 'failed',
        mode,
        document: { assessment: outcome.assessment },
        text: [],
        notes: [failure],
        markdown: `${assessed}${planMarkdown}`,
        annotations: [{ level: 'error', title: 'upgradekit: assessment', message: failure }],
        failure,
      });
    }
    case 'needs-confirmation': {
      const failure = confirmationNeeded(outcome, ctx.yes);
      return commandResult({
        command: 'run',
        status: 'needs-decision',
        exitClass: 'decision',
        mode,
        document: {
          reason: outcome.assessment
            ? 'the assessment has warnings that need confirmation (--yes)'
            : outcome.tasks.length > 0
              ? 'tasks without a compatibility annotation need confirmation (--yes)'
              : "tasks that run ahead of older versions' work need confirmation (--yes)",
          incompatible: outcome.tasks,
          ...(outcome.order ? { orderWarnings: outcome.order } : {}),
          ...(outcome.assessment ? { assessment: outcome.assessment } : {}),
        },
        text: [],
        notes: [failure],
        markdown: `${assessed}${planMarkdown}`,
        annotations: [{ level: 'error', title: 'upgradekit: confirmation needed', message: failure }],
        failure,
      });
    }
    case 'needs-services': {
      const external = runCommandLine(
        ctx,
        ['--services', 'external'],
        'run up to preUpgrade, for the pipeline to stop the services',
      );
      const staged = runCommandLine(
        ctx,
        ['--stage', 'preUpgrade'],
        'run the first stage that runs with the services up',
      );
      const failure = `${release.component} ${plan.from} → ${plan.to} needs its services stopped (stop mode), and a whole run does not stop or start them: nothing was run.`;
      return commandResult({
        command: 'run',
        status: 'services-required',
        // Nothing is wrong with the input: the operator decides who stops the services.
        exitClass: 'decision',
        mode,
        document: { reasons: outcome.reasons },
        text: [],
        notes: [
          failure,
          ...outcome.reasons.map((r) => `  - ${r.id} (${r.version}): ${r.reason}`),
          'Either your pipeline stops and starts them — this runs up to preUpgrade and stops there, then prints the next command:',
          `  ${pasteable(external)}`,
          `Or run each stage yourself, around your own stop and start (preUpgrade; stop; preStart; start; postStart; openTraffic; postUpgrade):`,
          `  ${pasteable(staged)}`,
        ],
        markdown: `### ❌ ${markdownCell(failure)}\n\n${planMarkdown}`,
        nextCommands: [external, staged],
        failure,
      });
    }
    case 'ran':
      return ranResult(
        outcome.result,
        outcome.stages,
        outcome.assessment,
        ctx,
        // A pipeline runs one stage per step: the plan's table is the plan step's summary, not
        // repeated under every stage.
        ctx.input.stage ? assessed : `${assessed}${planMarkdown}`,
        outcome.until,
      );
  }
}

function ranResult(
  result: RunResult | StageResult,
  stages: readonly StageResult[],
  assessment: AssessmentReport | undefined,
  ctx: RunContext,
  before: string,
  until?: StageName,
): CommandResult {
  const { input, release, plan } = ctx;
  const where = `${release.component} ${plan.from} → ${plan.to} on site ${ctx.site}`;
  const headline = `${where}${input.stage ? `, stage ${input.stage}` : ''}: ${result.status} in ${formatDuration(result.durationMs)}`;
  const steps = stages.flatMap((s) => s.steps);
  const next: NextCommand[] = [];
  const notes: string[] = [];
  if (result.status === 'needs-decision') {
    for (const step of steps.filter((s) => s.status === 'in_doubt')) {
      const { lines, commands } = decision(step, ctx);
      notes.push(...lines);
      next.push(...commands);
    }
  } else if (result.status === 'aborted' && result.signal) {
    // Each stopped step's line says what it left: rolled back, or in doubt.
    const stopped = steps.filter((s) => s.status === 'aborted');
    notes.push(
      `Stopped on ${result.signal}${stopped.length ? ` (${stopped.map((s) => s.id).join(', ')}: see above)` : ''}. Run the same command again to resume: done steps are skipped.`,
    );
  } else if (until && result.status === 'succeeded') {
    // The pipeline stops the services now; each later cut-point is its own command.
    const later = STAGES.slice(STAGES.indexOf(until) + 1);
    const [first, ...rest] = later.map((stage) =>
      runCommandLine(
        ctx,
        ['--stage', stage],
        stage === later[0] ? 'once the services are stopped' : `then ${stage}`,
      ),
    );
    if (first) {
      next.push(first, ...rest);
      notes.push(
        `Stopped after ${until}, as --services external asks: stop the services now, then run:`,
        `  ${pasteable(first)}`,
        `then start them, and run --stage ${later.slice(1).join(', then --stage ')} the same way.`,
      );
    }
  } else if (result.rollbackOffered) {
    const rollback = ctx.hasBackup
      ? rollbackCommand(
          ['auto'],
          { ...input, release: input.release },
          'roll back to the backup taken before the upgrade',
        )
      : undefined;
    if (rollback) next.push(rollback);
    // A command ends its line: nothing after it that a paste could pick up as an argument.
    notes.push(
      rollback
        ? `A core step failed: the upgrade stopped. Fix the cause and run again, or roll back with:\n${pasteable(rollback)}`
        : 'A core step failed: the upgrade stopped. Fix the cause and run again, or roll back.',
    );
  }
  const paused = until !== undefined && result.status === 'succeeded';
  return commandResult({
    command: 'run',
    status: paused ? 'paused' : result.status,
    exitClass: exitClassOfRun(result),
    mode: plan.mode,
    document: {
      ...(assessment ? { assessment } : {}),
      ...('runId' in result ? { runId: result.runId } : {}),
      durationMs: result.durationMs,
      rollbackOffered: result.rollbackOffered,
      stages,
      ...(result.error ? { error: result.error } : {}),
    },
    text: [
      ...stages.filter((s) => s.steps.length > 0).map((s) => formatStageSummary(s)),
      paused
        ? `${where}: paused after ${until} for the services to be stopped, in ${formatDuration(result.durationMs)}`
        : headline,
    ],
    notes,
    // The whole failure: the message, then the full statement a SQL failure carries. A step in
    // doubt has its whole message in the decision.
    details: steps.flatMap((step) => {
      if (!step.error || step.status === 'in_doubt') return [];
      const sql = (step.error as { context?: { sql?: unknown } }).context?.sql;
      return [
        `${step.id}: ${step.error.message}${typeof sql === 'string' ? `\n--- statement ---\n${sql}` : ''}`,
      ];
    }),
    markdown: `${before}\n${formatRunMarkdown(result, where)}`,
    annotations: steps
      .filter((s) => s.status === 'failed' || s.status === 'in_doubt')
      .map((s) => annotation(s, input.release)),
    nextCommands: next,
    ...(result.status === 'succeeded'
      ? {}
      : {
          failure: `${where}: ${result.status}${result.error ? ` — ${result.error.message.split('\n')[0]}` : ''}`,
        }),
  });
}

/** `upgradekit run` for the same upgrade and site, with `extra` instead of how this one was run. */
function runCommandLine(ctx: RunContext, extra: readonly string[], why: string): NextCommand {
  const { input } = ctx;
  return {
    why,
    argv: [
      'run',
      '--release',
      input.release,
      '--from',
      input.from,
      '--to',
      input.to,
      ...extra,
      ...(input.yes ? ['--yes'] : []),
      ...siteArgs(input),
    ],
  };
}

/** What needs a person's yes, and how to give it on this surface. */
export function confirmationNeeded(
  outcome: Extract<ExecuteOutcome, { kind: 'needs-confirmation' }>,
  yes: string,
): string {
  if (outcome.assessment)
    return `The assessment has warnings (above). Confirm with ${yes} once you accept them.`;
  if (outcome.tasks.length > 0)
    return [
      'These tasks carry no compatibility annotation (compatibleFrom):',
      ...outcome.tasks.map((i) => `  - ${i.id} (${i.version}): ${i.reason}`),
      `Confirm with ${yes} once you have checked that they are safe for this upgrade.`,
    ].join('\n');
  return `Nothing was run: tasks run ahead of older versions' work they may need: ${(outcome.order ?? []).map((w) => w.message).join('; ')}. Confirm with ${yes} once you have checked they do not need it, or upgrade one version at a time.`;
}

function exitClassOfRun(result: RunResult | StageResult): ExitClass {
  if (result.status === 'succeeded') return 'ok';
  if (result.status === 'needs-decision') return 'decision';
  // Stopped by a signal: the shell's convention, so a script sees that it was interrupted.
  if (result.status === 'aborted' && result.signal === 'SIGINT') return 'interrupted';
  if (result.status === 'aborted' && result.signal === 'SIGTERM') return 'terminated';
  return 'failed';
}

/** A failed step where the workflow shows it: its file and line when the failure knows them. */
function annotation(step: StepResult, release: string): Annotation {
  const context = (step.error as { context?: { file?: unknown; line?: unknown } } | undefined)?.context;
  // A task's file is named relative to its release; a workflow links it relative to the workspace.
  const file =
    typeof context?.file === 'string'
      ? isAbsolute(context.file)
        ? context.file
        : join(release, context.file)
      : undefined;
  return {
    level: 'error',
    title: `upgradekit: ${step.stage ? `${step.stage}/` : ''}${step.id} ${step.status}`,
    message: step.error?.message ?? step.status,
    ...(file ? { file } : {}),
    ...(typeof context?.line === 'number' ? { line: context.line } : {}),
  };
}

/**
 * What an operator must decide about a step in doubt, said once: the step's end line showed the
 * first line of its message (what is in doubt); here comes the rest (why, and what each decision
 * does), then the command per decision.
 */
function decision(step: StepResult, ctx: RunContext): { lines: string[]; commands: NextCommand[] } {
  const [headline = '', ...rest] = (step.error?.message ?? '').split('\n');
  const head = `An operator must decide about ${step.id}: ${rest.length > 0 ? rest.join('\n') : headline}`;
  const target = {
    id: step.id,
    ...(step.host ? { host: step.host } : {}),
    ...(ctx.repeats(step) ? { version: step.version } : {}),
  };
  // A step says which decisions fit (an edited file: start again, or continue at a statement).
  const context = (step.error as { context?: { decisions?: unknown; next?: unknown } } | undefined)?.context;
  const decisions = Array.isArray(context?.decisions)
    ? (context.decisions as string[])
    : ['applied', 'retry'];
  if (decisions.includes('restart')) {
    const position = typeof context?.next === 'number' ? context.next : 1;
    const restart = resolveCommand(
      target,
      'restart',
      ctx.input,
      `you restored or cleaned up what ${step.id} did`,
    );
    const from = resolveCommand(target, { from: position }, ctx.input, 'continue at a statement you choose');
    return {
      lines: [
        head,
        `If you restored or cleaned up what ${step.id} did: ${pasteable(restart)}`,
        `Or, to continue at a statement you choose: ${pasteable(from)}`,
        'Then run again.',
      ],
      commands: [restart, from],
    };
  }
  const applied = resolveCommand(target, 'applied', ctx.input, `${step.id} took effect`);
  const retry = resolveCommand(target, 'retry', ctx.input, `${step.id} did not take effect`);
  return {
    lines: [
      head,
      `If ${step.id} took effect: ${pasteable(applied)}`,
      `If it did not: ${pasteable(retry)}`,
      'Then run again.',
    ],
    commands: [applied, retry],
  };
}

function dryRunLines(entries: readonly DryRunEntry[]): string[] {
  if (entries.length === 0) return ['dry run: no steps'];
  // Ids are per version: where one repeats, the version tells the two apart.
  const repeats = idRepeats(entries);
  return [
    'dry run — nothing was executed:',
    ...entries.map(
      (e) =>
        `  ${e.action.toUpperCase().padEnd(7)} ${e.stage.padEnd(13)} ${e.name}${repeats(e) ? ` (version ${e.version})` : ''}${e.host ? ` on ${e.host}` : ''}${e.summary ? ` — ${e.summary}` : ''}${e.reason ? ` (${e.reason})` : ''}`,
    ),
  ];
}
