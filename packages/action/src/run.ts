// The Action: inputs in, core runs the command, its result out — the `status` and `upgrade-mode`
// outputs, the JSON report, the job summary, annotations, and a failed step when it did not
// succeed. No upgrade policy here: the CLI and a team script get the same results from core.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { error as annotate, info, setFailed, setOutput, setSecret, summary, warning } from '@actions/core';
import {
  type CommandResult,
  EventBus,
  errorResult,
  loadSiteConfig,
  parseCommandInput,
  renderAssessmentText,
  runCommand,
  siteSecrets,
} from '@upgradekit/core';
import { readInputs } from './inputs.js';
import { attachLog, onGitea } from './log.js';
import { assertNativeSqlite } from './outcome.js';

/**
 * Runs the Action once. Never throws: every failure ends as `setFailed` with a readable message
 * (and, on Gitea, a plain log line), so the workflow log says what happened.
 */
export async function run(): Promise<void> {
  let detach = () => {};
  const raw = readInputs();
  let result: CommandResult;
  try {
    const input = parseCommandInput(raw, 'action');
    const config = loadSiteConfig({
      ...(input.config ? { file: input.config } : {}),
      ...(input.site ? { overrides: { site: input.site } } : {}),
    });
    // Masked before anything else can print them.
    // Each line too: the runner masks line by line, and a message cut at a newline holds one line.
    for (const secret of siteSecrets(config))
      for (const part of new Set([secret, ...secret.split(/\r?\n/).filter((l) => l.trim().length >= 4)]))
        setSecret(part);
    const events = new EventBus();
    detach = attachLog(events);
    await assertNativeSqlite(input, config);
    // Nobody is at a runner's keyboard: no prompt, no countdown; `yes` is the only confirmation.
    result = await runCommand(input, {
      surface: 'action',
      config,
      events,
      handleSignals: true,
      ci: true,
      // The assessment a whole run makes, in the log as soon as it is made (the job summary has it
      // too): the log's only account of it, since its events print no findings.
      onAssessment: (report) => info(renderAssessmentText(report).trimEnd()),
    });
  } catch (error) {
    result = errorResult(raw.command as CommandResult['command'], error);
  } finally {
    detach();
  }
  await publish(result);
}

async function publish(result: CommandResult): Promise<void> {
  for (const line of [...result.text, ...result.notes]) info(line);
  // One directory per step: two steps of one job (a run per stage, a status after) keep their own.
  const reportPath = join(
    mkdtempSync(join(process.env.RUNNER_TEMP || tmpdir(), 'upgradekit-')),
    `${result.command}-report.json`,
  );
  writeFileSync(reportPath, `${JSON.stringify(result.document, null, 2)}\n`);
  setOutput('status', result.status);
  if (result.mode) setOutput('upgrade-mode', result.mode);
  setOutput('report', reportPath);
  await writeSummary(result.markdown);
  for (const a of result.annotations) {
    const properties = {
      title: a.title,
      ...(a.file ? { file: a.file } : {}),
      ...(a.line ? { startLine: a.line } : {}),
    };
    if (a.level === 'error') annotate(a.message, properties);
    else warning(a.message, properties);
    // Gitea prints annotations as raw `::error::` text: the same failure as a readable line.
    if (onGitea()) info(`${a.level.toUpperCase()} ${a.title}: ${a.message}`);
  }
  if (result.exitClass !== 'ok') {
    const message = result.failure ?? `upgradekit ${result.command}: ${result.status}`;
    if (onGitea()) info(`ERROR upgradekit: ${message}`);
    setFailed(message);
  }
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
