import { createInterface } from 'node:readline/promises';
import type { DryRunEntry, Plan, RunResult, StageName, StageResult } from '@upgradekit/core';
import { Exit, type ExitCode, type Output } from '../output.js';
import { planDocument, planLines } from './plan.js';
import { openSession, type ReleaseFlags } from './session.js';

export interface RunFlags extends ReleaseFlags {
  readonly from: string;
  readonly to: string;
  readonly stage?: string;
  readonly dryRun?: boolean;
}

/** Tasks nobody has declared compatible need a person's yes before they run. */
async function confirmed(plan: Plan, flags: RunFlags, out: Output): Promise<boolean> {
  const unannotated = plan.incompatible.filter((i) => i.needsConfirmation);
  if (unannotated.length === 0 || flags.yes) return true;
  const list = unannotated.map((i) => `  - ${i.id} (${i.version}): ${i.reason}`).join('\n');
  out.note(`These tasks carry no compatibility annotation (compatibleFrom):\n${list}`);
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY) && !process.env.CI && !out.json;
  if (!interactive) {
    out.note('Confirm with --yes once you have checked that they are safe for this upgrade.');
    return false;
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question('Run them? [y/N] ')).trim());
  } finally {
    rl.close();
  }
}

function dryRunLines(entries: readonly DryRunEntry[]): string[] {
  if (entries.length === 0) return ['dry run: no steps'];
  return [
    'dry run — nothing was executed:',
    ...entries.map(
      (e) =>
        `  ${e.action.toUpperCase().padEnd(7)} ${e.stage.padEnd(13)} ${e.name}${e.host ? ` on ${e.host}` : ''}${e.summary ? ` — ${e.summary}` : ''}${e.reason ? ` (${e.reason})` : ''}`,
    ),
  ];
}

function exitFor(status: StageResult['status']): ExitCode {
  if (status === 'succeeded') return Exit.ok;
  if (status === 'needs-decision') return Exit.decision;
  return Exit.failed;
}

export async function runCommand(flags: RunFlags, out: Output): Promise<ExitCode> {
  const session = await openSession(flags);
  const { core } = session;
  const assertStage: (typeof core)['assertStage'] = core.assertStage;
  if (flags.stage !== undefined) assertStage(flags.stage, '--stage');
  const stages = flags.stage ? [flags.stage as StageName] : undefined;
  let prepared: Awaited<ReturnType<typeof core.prepareUpgrade>> | undefined;
  try {
    prepared = await core.prepareUpgrade({
      release: flags.release,
      from: flags.from,
      to: flags.to,
      config: session.config,
      events: session.events,
      handleSignals: true,
    });
    const { release, plan, upgrade } = prepared;
    const where = `${release.component} ${plan.from} → ${plan.to} on site ${session.siteId}`;
    const entries = await upgrade.dryRun(stages ? { stages } : {});
    if (flags.dryRun) {
      out.document({ ok: true, dryRun: true, plan: planDocument(release, plan), steps: entries });
      out.text([...planLines(release, plan), ...dryRunLines(entries)]);
      return Exit.ok;
    }
    if (entries.every((e) => e.action === 'skip')) {
      const message = `Nothing to do: ${where}${flags.stage ? `, stage ${flags.stage}` : ''} — all ${entries.length} step${entries.length === 1 ? '' : 's'} already done.`;
      out.document({ ok: true, status: 'succeeded', nothingToDo: true, message, steps: entries });
      out.text(message);
      return Exit.ok;
    }
    if (!(await confirmed(plan, flags, out))) {
      out.document({
        ok: false,
        status: 'needs-decision',
        reason: 'unannotated tasks need confirmation (--yes)',
        incompatible: plan.incompatible.filter((i) => i.needsConfirmation),
      });
      return Exit.decision;
    }
    const result: RunResult | StageResult = stages
      ? await upgrade.runStage(stages[0] as StageName)
      : await upgrade.run();
    const stageResults = 'stages' in result ? result.stages : [result];
    out.document({
      ok: result.status === 'succeeded',
      status: result.status,
      ...('runId' in result ? { runId: result.runId } : {}),
      durationMs: result.durationMs,
      rollbackOffered: result.rollbackOffered,
      stages: stageResults,
      ...(result.error ? { error: result.error } : {}),
    });
    out.text([
      ...stageResults.filter((s) => s.steps.length > 0).map((s) => core.formatStageSummary(s)),
      `${where}: ${result.status} in ${core.formatDuration(result.durationMs)}`,
    ]);
    if (result.status === 'needs-decision') {
      out.note(
        `An operator must decide: ${result.error?.message.split('\n')[0] ?? ''}\nThen: upgradekit resolve <step> --applied|--retry --release ${flags.release} --from ${flags.from} --to ${flags.to}`,
      );
    } else if (result.rollbackOffered) {
      out.note('A core step failed: the upgrade stopped. Fix the cause and run again, or roll back.');
    }
    return exitFor(result.status);
  } finally {
    await prepared?.close();
    session.close();
  }
}
