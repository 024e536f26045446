// The Action: inputs in, core does the work, outputs + job summary + report file out.
// No upgrade logic here — the CLI and a team script call the same core functions.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { info, setFailed, setOutput, setSecret, summary, warning } from '@actions/core';
import {
  type AssessmentReport,
  assessSite,
  EventBus,
  executeUpgrade,
  formatPlanMarkdown,
  formatRunMarkdown,
  lastRecordedUpgrade,
  loadRelease,
  loadSiteConfig,
  plan,
  prepareUpgrade,
  type Release,
  renderAssessmentMarkdown,
  renderAssessmentText,
  type SiteConfig,
  siteSecrets,
} from '@upgradekit/core';
import { backupCommand, rollbackCommand } from './backup.js';
import { type ActionInputs, readInputs } from './inputs.js';
import { attachLog, onGitea } from './log.js';
import { assertNativeSqlite, type Outcome } from './outcome.js';

async function planCommand(inputs: ActionInputs, release: Release, config: SiteConfig): Promise<Outcome> {
  const p = plan({
    release,
    from: inputs.from ?? '',
    to: inputs.to ?? '',
    site: config.site?.id ?? 'default',
  });
  return {
    status: 'planned',
    mode: p.mode,
    report: { command: 'plan', plan: p },
    markdown: formatPlanMarkdown(release, p),
  };
}

async function runCommand(
  inputs: ActionInputs,
  release: Release,
  config: SiteConfig,
  events: EventBus,
): Promise<Outcome> {
  assertNativeSqlite(release, config);
  const prepared = await prepareUpgrade({
    release,
    from: inputs.from ?? '',
    to: inputs.to ?? '',
    config,
    events,
    handleSignals: true,
  });
  try {
    const title = `${release.component} ${prepared.plan.from} → ${prepared.plan.to} on site ${prepared.upgrade.site.id}`;
    const planMarkdown = formatPlanMarkdown(release, prepared.plan);
    const mode = prepared.plan.mode;
    const outcome = await executeUpgrade(prepared, {
      ...(inputs.stage ? { stage: inputs.stage } : {}),
      dryRun: inputs.dryRun,
      confirm: () => inputs.yes,
      confirmOrder: () => inputs.yes,
      confirmWarnings: () => inputs.yes,
      events,
    });
    const assessed =
      'assessment' in outcome && outcome.assessment
        ? `${renderAssessmentMarkdown(outcome.assessment)}\n`
        : '';
    switch (outcome.kind) {
      case 'dry-run':
        return {
          status: 'dry-run',
          mode,
          report: { command: 'run', dryRun: true, plan: prepared.plan, steps: outcome.steps },
          markdown: `${planMarkdown}\n${outcome.steps.map((s) => `- ${s.action} \`${s.stage}\` ${s.name}${s.reason ? ` — ${s.reason}` : ''}`).join('\n')}\n`,
        };
      case 'nothing-to-do':
        info(outcome.message);
        return {
          status: 'succeeded',
          mode,
          report: { command: 'run', nothingToDo: true, message: outcome.message },
          markdown: `### ✅ ${outcome.message}\n`,
        };
      case 'assessment-failed':
        return {
          status: 'assessment-failed',
          mode,
          report: { command: 'run', assessment: outcome.assessment },
          markdown: `${assessed}${planMarkdown}`,
          failure: `the assessment failed (${failedChecks(outcome.assessment)}): nothing was run`,
        };
      case 'needs-confirmation': {
        const list = outcome.tasks.map((t) => `${t.id} (${t.version})`).join(', ');
        return {
          status: 'needs-decision',
          mode,
          report: {
            command: 'run',
            needsConfirmation: outcome.tasks,
            assessment: outcome.assessment,
            orderWarnings: outcome.order,
          },
          markdown: `${assessed}${planMarkdown}`,
          failure: outcome.assessment
            ? 'the assessment has warnings: check them in the summary, then set `yes: true`.'
            : outcome.tasks.length > 0
              ? `tasks without a compatibility annotation need confirmation: ${list}. Check them, then set \`yes: true\`.`
              : `tasks run ahead of older versions' work they may need: ${outcome.order?.map((w) => w.message).join('; ')}. Check them, then set \`yes: true\`.`,
        };
      }
      case 'ran': {
        const { result } = outcome;
        return {
          status: result.status,
          mode,
          report: {
            command: 'run',
            result: { ...result, stages: outcome.stages },
            assessment: outcome.assessment,
          },
          markdown: `${assessed}${planMarkdown}\n${formatRunMarkdown(result, title)}`,
          ...(result.status === 'succeeded'
            ? {}
            : {
                failure: `${title}: ${result.status}${result.error ? ` — ${result.error.message.split('\n')[0]}` : ''}`,
              }),
        };
      }
    }
    return { status: 'failed', report: {}, markdown: '', failure: 'unexpected outcome' }; // unreachable
  } finally {
    await prepared.close();
  }
}

function failedChecks(report: AssessmentReport): string {
  const sections = [report.resources, report.dataQuality, report.compatibility, report.duration];
  const failed = sections.flatMap((s) => s.checks.filter((c) => c.status === 'fail').map((c) => c.title));
  return failed.join('; ') || 'see the summary';
}

async function assessCommand(
  inputs: ActionInputs,
  release: Release,
  config: SiteConfig,
  events: EventBus,
): Promise<Outcome> {
  const prepared = await prepareUpgrade({
    release,
    from: inputs.from ?? '',
    to: inputs.to ?? '',
    config,
    events,
  });
  try {
    const report = await assessSite(prepared, config, { events });
    info(renderAssessmentText(report));
    if (report.verdict === 'warn') warning('upgradekit: the assessment has warnings; see the job summary');
    return {
      status: report.verdict,
      mode: prepared.plan.mode,
      report: { command: 'assess', assessment: report },
      markdown: renderAssessmentMarkdown(report),
      ...(report.verdict === 'fail' ? { failure: `the assessment failed: ${failedChecks(report)}` } : {}),
    };
  } finally {
    await prepared.close();
  }
}

async function statusCommand(
  inputs: ActionInputs,
  release: Release,
  config: SiteConfig,
  events: EventBus,
): Promise<Outcome> {
  assertNativeSqlite(release, config);
  const versions =
    inputs.from && inputs.to
      ? { from: inputs.from, to: inputs.to }
      : await lastRecordedUpgrade(release.component, config);
  if (!versions) {
    const message = `No upgrade of ${release.component} recorded on site ${config.site?.id ?? 'default'} yet.`;
    return { status: 'none', report: { command: 'status', message }, markdown: `### ${message}\n` };
  }
  const prepared = await prepareUpgrade({ release, ...versions, config, events });
  try {
    const report = await prepared.upgrade.status();
    const c = report.counts;
    const line = `${report.component} ${report.from} → ${report.to} on site ${report.site}: ${c.done} done, ${c.pending} pending, ${c.failed} failed, ${c.inDoubt} in doubt${c.interrupted ? `, ${c.interrupted} interrupted` : ''}`;
    info(line);
    if (report.interrupted)
      info(`run ${report.interrupted.runId} was interrupted: ${report.interrupted.why}`);
    // Steps an interrupted run left that the next run resumes by itself, or that a live run is
    // running, are not done yet.
    const unfinished = c.pending + c.interrupted + c.running;
    return {
      status:
        c.inDoubt > 0 ? 'needs-decision' : c.failed > 0 ? 'failed' : unfinished > 0 ? 'pending' : 'succeeded',
      mode: prepared.plan.mode,
      report: { command: 'status', status: report },
      markdown: `### ${line}\n`,
    };
  } finally {
    await prepared.close();
  }
}

function errorsAsJson(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown; context?: unknown };
    return { name: e.name, code: e.code, message: e.message, context: e.context };
  }
  return value;
}

/**
 * Runs the Action once. Never throws: every failure ends as `setFailed` with a readable message
 * (and, on Gitea, a plain log line), so the workflow log says what happened.
 */
export async function run(): Promise<void> {
  let detach = () => {};
  try {
    const inputs = readInputs();
    const config = loadSiteConfig({
      ...(inputs.config ? { file: inputs.config } : {}),
      ...(inputs.site ? { overrides: { site: inputs.site } } : {}),
    });
    // Masked before anything else can print them.
    for (const secret of siteSecrets(config)) setSecret(secret);
    const events = new EventBus();
    detach = attachLog(events);
    const release = await loadRelease(inputs.release);
    const outcome =
      inputs.command === 'plan'
        ? await planCommand(inputs, release, config)
        : inputs.command === 'assess'
          ? await assessCommand(inputs, release, config, events)
          : inputs.command === 'run'
            ? await runCommand(inputs, release, config, events)
            : inputs.command === 'backup'
              ? await backupCommand(inputs, release, config, events)
              : inputs.command === 'rollback'
                ? await rollbackCommand(inputs, release, config, events)
                : await statusCommand(inputs, release, config, events);
    const reportPath = join(process.env.RUNNER_TEMP || tmpdir(), `upgradekit-${inputs.command}-report.json`);
    writeFileSync(
      reportPath,
      `${JSON.stringify({ status: outcome.status, ...outcome.report }, errorsAsJson, 2)}\n`,
    );
    setOutput('status', outcome.status);
    if (outcome.mode) setOutput('upgrade-mode', outcome.mode);
    setOutput('report', reportPath);
    await writeSummary(outcome.markdown);
    if (outcome.failure) fail(outcome.failure);
  } catch (error) {
    const e = error as Error & { code?: string };
    fail(`${e.code ? `${e.code}: ` : ''}${e.message ?? String(error)}`);
  } finally {
    detach();
  }
}

function fail(message: string): void {
  if (onGitea()) info(`ERROR upgradekit: ${message}`);
  setFailed(message);
}

/** Best effort: `summary.write()` throws without GITHUB_STEP_SUMMARY, and Gitea before 1.27 has none. */
async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  try {
    await summary.addRaw(markdown, true).write();
  } catch (error) {
    info(`upgradekit: could not write the job summary (${(error as Error).message})`);
  }
}
