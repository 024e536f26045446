import { createInterface } from 'node:readline/promises';
import type {
  AssessmentReport,
  DryRunEntry,
  IncompatibleTask,
  RunResult,
  StageName,
  StageResult,
  StepResult,
} from '@upgradekit/core';
import { Exit, type ExitCode, type Output } from '../output.js';
import { resolveCommands, siteArgs, upgradekit } from './paste.js';
import { planDocument, planLines } from './plan.js';
import { type ReleaseFlags, withPreparedUpgrade } from './session.js';

export interface RunFlags extends ReleaseFlags {
  readonly from: string;
  readonly to: string;
  readonly stage?: string;
  readonly dryRun?: boolean;
  readonly killInDoubt?: boolean;
}

/** Tasks nobody has declared compatible need a person's yes before they run. */
/** --yes confirms; on a terminal the operator is asked; elsewhere the answer is no, and why. */
async function ask(flags: RunFlags, out: Output, offTerminal: string, question: string): Promise<boolean> {
  if (flags.yes) return true;
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY) && !process.env.CI && !out.json;
  if (!interactive) {
    out.note(offTerminal);
    return false;
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

function confirmWarnings(flags: RunFlags, out: Output): Promise<boolean> {
  return ask(
    flags,
    out,
    'The assessment has warnings (above). Confirm with --yes once you accept them.',
    'Upgrade despite the warnings?',
  );
}

function confirm(tasks: readonly IncompatibleTask[], flags: RunFlags, out: Output): Promise<boolean> {
  if (!flags.yes) {
    const list = tasks.map((i) => `  - ${i.id} (${i.version}): ${i.reason}`).join('\n');
    out.note(`These tasks carry no compatibility annotation (compatibleFrom):\n${list}`);
  }
  return ask(
    flags,
    out,
    'Confirm with --yes once you have checked that they are safe for this upgrade.',
    'Run them?',
  );
}

/** Core has logged each warning (a warn line on stderr), whatever the answer. */
function confirmOrder(flags: RunFlags, out: Output): Promise<boolean> {
  return ask(
    flags,
    out,
    "Nothing was run: tasks would run ahead of older versions' work they may need (above). Confirm with --yes once you have checked they do not need it, or upgrade one version at a time.",
    'Run them in this order?',
  );
}

function dryRunLines(entries: readonly DryRunEntry[], core: typeof import('@upgradekit/core')): string[] {
  if (entries.length === 0) return ['dry run: no steps'];
  // Ids are per version: where one repeats, the version tells the two apart.
  const repeats = core.idRepeats(entries);
  return [
    'dry run — nothing was executed:',
    ...entries.map(
      (e) =>
        `  ${e.action.toUpperCase().padEnd(7)} ${e.stage.padEnd(13)} ${e.name}${repeats(e) ? ` (version ${e.version})` : ''}${e.host ? ` on ${e.host}` : ''}${e.summary ? ` — ${e.summary}` : ''}${e.reason ? ` (${e.reason})` : ''}`,
    ),
  ];
}

/**
 * What an operator must decide, said once: the step's end line and the summary above showed the
 * first line of its in-doubt message (what is in doubt); here comes the rest (why, and what each
 * decision does), then the command to paste per decision.
 */
function decisionHead(step: StepResult): string {
  const [headline = '', ...rest] = (step.error?.message ?? '').split('\n');
  return `An operator must decide about ${step.id}: ${rest.length > 0 ? rest.join('\n') : headline}`;
}

/** For each step in doubt, what to decide and the command to paste per decision. */
function decisionLines(
  steps: readonly StepResult[],
  flags: RunFlags,
  repeats: (step: StepResult) => boolean,
): string[] {
  return steps.flatMap((step) => {
    const { applied, retry, restart, from } = resolveCommands(
      {
        id: step.id,
        ...(step.host ? { host: step.host } : {}),
        ...(repeats(step) ? { version: step.version } : {}),
      },
      flags,
    );
    // A step says which decisions fit (an edited file: start again, or continue at a statement).
    const context = (step.error as { context?: { decisions?: unknown; next?: unknown } } | undefined)
      ?.context;
    const decisions = Array.isArray(context?.decisions)
      ? (context.decisions as string[])
      : ['applied', 'retry'];
    if (decisions.includes('restart')) {
      const position = typeof context?.next === 'number' ? context.next : 1;
      return [
        decisionHead(step),
        `If you restored or cleaned up what ${step.id} did: ${restart}`,
        `Or, to continue at a statement you choose: ${from(position)}`,
        'Then run again.',
      ];
    }
    return [
      decisionHead(step),
      `If ${step.id} took effect: ${applied}`,
      `If it did not: ${retry}`,
      'Then run again.',
    ];
  });
}

function exitFor(result: RunResult | StageResult): ExitCode {
  const { status } = result;
  if (status === 'succeeded') return Exit.ok;
  if (status === 'needs-decision') return Exit.decision;
  // Stopped by a signal: the shell's convention, so a script sees that it was interrupted.
  if (status === 'aborted' && result.signal === 'SIGINT') return Exit.interrupted;
  if (status === 'aborted' && result.signal === 'SIGTERM') return Exit.terminated;
  return Exit.failed;
}

export function runCommand(flags: RunFlags, out: Output): Promise<ExitCode> {
  const options = { handleSignals: true, ...(flags.killInDoubt ? { killInDoubt: true } : {}) };
  return withPreparedUpgrade(flags, options, async (session, prepared) => {
    const { core } = session;
    const { release, plan } = prepared;
    const outcome = await core.executeUpgrade(prepared, {
      ...(flags.stage !== undefined ? { stage: flags.stage } : {}),
      ...(flags.dryRun ? { dryRun: true } : {}),
      confirm: (tasks) => confirm(tasks, flags, out),
      confirmOrder: () => confirmOrder(flags, out),
      events: session.events,
      onAssessment: (report) => {
        if (!out.json)
          out.text(
            core.renderAssessmentText(report, { color: session.interactive && !process.env.NO_COLOR }),
          );
      },
      confirmWarnings: () => confirmWarnings(flags, out),
      ...(session.interactive
        ? {
            around: async <R>(stages: readonly StageName[], run: () => Promise<R>): Promise<R> => {
              const { withTaskList } = await import('../render/task-list.js');
              session.quiet();
              return withTaskList(prepared.upgrade, session.events, stages, run);
            },
          }
        : {}),
    });
    switch (outcome.kind) {
      case 'dry-run':
        out.document({ ok: true, dryRun: true, plan: planDocument(release, plan), steps: outcome.steps });
        out.text([...planLines(release, plan), ...dryRunLines(outcome.steps, core)]);
        return Exit.ok;
      case 'nothing-to-do':
        out.document({
          ok: true,
          status: 'succeeded',
          nothingToDo: true,
          message: outcome.message,
          steps: outcome.steps,
        });
        out.text(outcome.message);
        return Exit.ok;
      case 'assessment-failed':
        out.document({ ok: false, status: 'assessment-failed', assessment: outcome.assessment });
        out.note('The assessment failed: nothing was run. Fix the failed checks above, then run again.');
        return Exit.failed;
      case 'needs-confirmation':
        out.document({
          ok: false,
          status: 'needs-decision',
          reason: outcome.assessment
            ? 'the assessment has warnings that need confirmation (--yes)'
            : outcome.tasks.length > 0
              ? 'tasks without a compatibility annotation need confirmation (--yes)'
              : "tasks that run ahead of older versions' work need confirmation (--yes)",
          incompatible: outcome.tasks,
          ...(outcome.order ? { orderWarnings: outcome.order } : {}),
          ...(outcome.assessment ? { assessment: outcome.assessment } : {}),
        });
        return Exit.decision;
      case 'ran': {
        const where = `${release.component} ${plan.from} → ${plan.to} on site ${prepared.upgrade.site.id}`;
        const rollback = session.config.backup
          ? upgradekit(['rollback', 'auto', '--release', flags.release, ...siteArgs(flags)])
          : undefined;
        // A printed `resolve` names the version of a step whose id another version has too.
        const repeats = core.idRepeats(core.STAGES.flatMap((stage) => prepared.upgrade.planned(stage)));
        return reportRun(outcome.result, outcome.stages, where, flags, out, core, {
          ...(outcome.assessment ? { assessment: outcome.assessment } : {}),
          ...(rollback ? { rollback } : {}),
          repeats,
        });
      }
    }
    return Exit.failed; // unreachable: every outcome is handled above
  });
}

function reportRun(
  result: RunResult | StageResult,
  stages: readonly StageResult[],
  where: string,
  flags: RunFlags,
  out: Output,
  core: typeof import('@upgradekit/core'),
  extra: {
    readonly assessment?: AssessmentReport;
    /** The command that restores this site's backup, when it has a `backup:` section. */
    readonly rollback?: string;
    /** Whether a step's id is in more than one version of the upgrade. */
    readonly repeats: (step: StepResult) => boolean;
  },
): ExitCode {
  const { assessment, rollback } = extra;
  out.document({
    ...(assessment ? { assessment } : {}),
    ok: result.status === 'succeeded',
    status: result.status,
    ...('runId' in result ? { runId: result.runId } : {}),
    durationMs: result.durationMs,
    rollbackOffered: result.rollbackOffered,
    stages,
    ...(result.error ? { error: result.error } : {}),
  });
  out.text([
    ...stages.filter((s) => s.steps.length > 0).map((s) => core.formatStageSummary(s)),
    `${where}${flags.stage ? `, stage ${flags.stage}` : ''}: ${result.status} in ${core.formatDuration(result.durationMs)}`,
  ]);
  if (flags.verbose) {
    // The whole failure: the message, then the full statement a SQL failure carries.
    for (const step of stages.flatMap((s) => s.steps)) {
      // A step in doubt has its whole message in the decision below.
      if (!step.error || step.status === 'in_doubt') continue;
      const sql = (step.error as { context?: { sql?: unknown } }).context?.sql;
      out.note(
        `${step.id}: ${step.error.message}${typeof sql === 'string' ? `\n--- statement ---\n${sql}` : ''}`,
      );
    }
  }
  if (result.status === 'needs-decision') {
    out.note(
      decisionLines(
        stages.flatMap((s) => s.steps).filter((s) => s.status === 'in_doubt'),
        flags,
        extra.repeats,
      ).join('\n'),
    );
  } else if (result.status === 'aborted' && result.signal) {
    // Each stopped step's line above says what it left: rolled back, or in doubt.
    const stopped = stages.flatMap((s) => s.steps).filter((s) => s.status === 'aborted');
    out.note(
      `Stopped on ${result.signal}${stopped.length ? ` (${stopped.map((s) => s.id).join(', ')}: see above)` : ''}. Run the same command again to resume: done steps are skipped.`,
    );
  } else if (result.rollbackOffered) {
    // A command ends its line: nothing after it that a paste could pick up as an argument.
    out.note(
      rollback
        ? `A core step failed: the upgrade stopped. Fix the cause and run again, or roll back with:\n${rollback}`
        : 'A core step failed: the upgrade stopped. Fix the cause and run again, or roll back.',
    );
  }
  return exitFor(result);
}
