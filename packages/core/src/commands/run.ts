// `run`: what each of the five outcomes of executeUpgrade means for the operator, said once.
import { renderAssessmentMarkdown } from '../assess/index.js';
import { formatPlanMarkdown } from '../plan/internal.js';
import type { ExecuteOutcome } from '../site/index.js';
import type { DryRunEntry } from '../stages/index.js';
import { idRepeats, markdownCell } from '../stages/internal.js';
import { failedChecks } from './assess.js';
import { runCommandLine } from './next.js';
import { planDocument, planLines } from './plan.js';
import { type CommandResult, commandResult, type ExitClass, pasteable } from './result.js';
import type { RunContext } from './run-context.js';
import { ranResult } from './run-ran.js';

export type { RunContext } from './run-context.js';

export function runResult(outcome: ExecuteOutcome, ctx: RunContext): CommandResult {
  const result = outcomeResult(outcome, ctx);
  // Its default is relative to the working directory: every run says where it read and wrote.
  if (!ctx.state) return result;
  const line = `  state: ${ctx.state}`;
  return {
    ...result,
    // After what happened: a run refused before anything ran has no text, only its explanation
    // (the notes, on stderr), and the state line follows that instead of preceding it on stdout.
    ...(result.text.length > 0 ? { text: [...result.text, line] } : { notes: [...result.notes, line] }),
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
      return refused(mode, 'assessment-failed', 'failed', { assessment: outcome.assessment }, failure, {
        title: 'upgradekit: assessment',
        markdown: `${assessed}${planMarkdown}`,
      });
    }
    case 'needs-confirmation': {
      const failure = confirmationNeeded(outcome, ctx.yes);
      return refused(
        mode,
        'needs-decision',
        'decision',
        {
          reason: outcome.assessment
            ? 'the assessment has warnings that need confirmation (--yes)'
            : outcome.tasks.length > 0
              ? 'tasks without a compatibility annotation need confirmation (--yes)'
              : "tasks that run ahead of older versions' work need confirmation (--yes)",
          incompatible: outcome.tasks,
          ...(outcome.order ? { orderWarnings: outcome.order } : {}),
          ...(outcome.assessment ? { assessment: outcome.assessment } : {}),
        },
        failure,
        { title: 'upgradekit: confirmation needed', markdown: `${assessed}${planMarkdown}` },
      );
    }
    case 'needs-services': {
      const external = runCommandLine(
        ctx.input,
        ['--services', 'external'],
        'run up to preUpgrade, for the pipeline to stop the services',
      );
      const staged = runCommandLine(
        ctx.input,
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

/** A run refused before anything ran: the reason is the note, the failure and the annotation. */
function refused(
  mode: string,
  status: string,
  exitClass: ExitClass,
  document: Record<string, unknown>,
  failure: string,
  shown: { readonly title: string; readonly markdown: string },
): CommandResult {
  return commandResult({
    command: 'run',
    status,
    exitClass,
    mode,
    document,
    text: [],
    notes: [failure],
    markdown: shown.markdown,
    annotations: [{ level: 'error', title: shown.title, message: failure }],
    failure,
  });
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
