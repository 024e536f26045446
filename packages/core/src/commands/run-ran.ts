// `run` after the stages ran: the summary per stage, what to do next (decide, resume, continue
// after the services are stopped, roll back), the whole failure, and where the workflow shows it.
import { isAbsolute, join } from 'node:path';
import type { AssessmentReport } from '../assess/index.js';
import { formatDuration } from '../events/internal.js';
import { STAGES, type StageName } from '../model/index.js';
import { formatStageSummary, type RunResult, type StageResult, type StepResult } from '../stages/index.js';
import { formatRunMarkdown } from '../stages/internal.js';
import { rollbackCommand, runCommandLine } from './next.js';
import {
  type Annotation,
  type CommandResult,
  commandResult,
  type ExitClass,
  type NextCommand,
  pasteable,
} from './result.js';
import type { RunContext } from './run-context.js';
import { decision } from './run-decision.js';

export function ranResult(
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
        input,
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
