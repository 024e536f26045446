import { formatDuration } from '../events/internal.js';
import { anObject, checkArguments } from '../options/index.js';
import type { RunResult, StageResult, StepResult } from './types.js';

const TAGS: Record<StepResult['status'], string> = {
  succeeded: 'SUCCESS',
  skipped: 'SKIPPED',
  failed: 'FAILED',
  aborted: 'ABORTED',
  in_doubt: 'IN DOUBT',
};

/**
 * One line per step, as the seed's reports print them:
 * `[SUCCESS] alter_orders_table.sql (2m 30s)`, `[SKIPPED] backup_legacy_data (already done: succeeded in run …)`.
 */
export function formatStepLine(result: StepResult): string {
  checkArguments('formatStepLine', { result: anObject('a step result') }, { result });
  const tag = `[${TAGS[result.status]}] ${result.name}${result.host ? ` on ${result.host}` : ''}`;
  if (result.status === 'skipped') return `${tag} (${result.reason ?? 'skipped'})`;
  const took = `(${formatDuration(result.durationMs)}${result.attempts > 1 ? `, ${result.attempts} attempts` : ''})`;
  if (result.status === 'succeeded') return `${tag} ${took}`;
  return `${tag} ${took}: ${(result.error?.message ?? '').split('\n')[0]}`;
}

/** A stage's result for a log or a terminal: a header and one line per step. */
export function formatStageSummary(result: StageResult): string {
  checkArguments('formatStageSummary', { result: anObject('a stage result (runStage)') }, { result });
  const counts = new Map<string, number>();
  for (const step of result.steps) counts.set(step.status, (counts.get(step.status) ?? 0) + 1);
  const tally = [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
  return [
    `stage ${result.stage}: ${result.status} in ${formatDuration(result.durationMs)}${tally ? ` (${tally})` : ''}`,
    ...result.steps.flatMap((s) => [`  ${formatStepLine(s)}`, ...failureDetail(s)]),
  ].join('\n');
}

/** Lines of a failure's message shown under its step; the rest is behind --verbose. */
const DETAIL_LINES = 20;

/**
 * What explains a failure, under its step line: the rest of its message — a rollout's failed
 * hosts, the last lines of a service's log. (A step in doubt says its rest in the decision.)
 */
function failureDetail(step: StepResult): string[] {
  if (step.status !== 'failed' && step.status !== 'aborted') return [];
  const rest = (step.error?.message ?? '').split('\n').slice(1);
  const shown = rest.slice(0, DETAIL_LINES).map((line) => `      ${line}`);
  if (rest.length > DETAIL_LINES) shown.push(`      … ${rest.length - DETAIL_LINES} more lines (--verbose)`);
  return shown;
}

/** A value for a Markdown table cell: pipes escaped, one line. */
export function markdownCell(value: unknown): string {
  return String(value ?? '')
    .replace(/\r?\n/g, ' ')
    .replace(/\|/g, '\\|');
}

const ICONS: Record<StageResult['status'], string> = {
  succeeded: '✅',
  partial: '⚠️',
  failed: '❌',
  aborted: '⏹️',
  'needs-decision': '✋',
};

/**
 * A run (or one stage) as Markdown for a CI job summary: a heading with the outcome and one table
 * row per step — the same facts the terminal summary prints.
 *
 * @example
 * await summary.addRaw(formatRunMarkdown(result, 'dr-platform 2.16.5 → 2.16.7 on site-042')).write();
 */
export function formatRunMarkdown(result: RunResult | StageResult, title: string): string {
  const stages = 'stages' in result ? result.stages : [result];
  const rows = stages.flatMap((stage) =>
    stage.steps.map(
      (s) =>
        `| ${stage.stage} | ${markdownCell(s.name)}${s.host ? ` (${markdownCell(s.host)})` : ''} | ${TAGS[s.status]} | ${s.attempts} | ${formatDuration(s.durationMs)} | ${markdownCell(s.status === 'skipped' ? s.reason : (s.error?.message.split('\n')[0] ?? ''))} |`,
    ),
  );
  return [
    `### ${ICONS[result.status]} ${markdownCell(title)}: ${result.status} in ${formatDuration(result.durationMs)}`,
    '',
    ...(rows.length > 0
      ? [
          '| stage | step | result | attempts | time | detail |',
          '| --- | --- | --- | --- | --- | --- |',
          ...rows,
        ]
      : ['No steps ran.']),
    '',
  ].join('\n');
}
