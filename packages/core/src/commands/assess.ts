// `assess`: the pre-upgrade report's verdict as a command result.
import { type AssessmentReport, renderAssessmentMarkdown, renderAssessmentText } from '../assess/index.js';
import { type CommandResult, commandResult } from './result.js';

const checks = (report: AssessmentReport) =>
  [report.resources, report.dataQuality, report.compatibility, report.duration].flatMap((s) => s.checks);

/** The titles of the failed checks of an assessment. */
export function failedChecks(report: AssessmentReport): string {
  return (
    checks(report)
      .filter((c) => c.status === 'fail')
      .map((c) => c.title)
      .join('; ') || 'see the report'
  );
}

/** Pass is ok; fail is a failure; warn needs the operator's yes (`yes`), which `accepted` gives. */
export function assessResult(
  report: AssessmentReport,
  options: {
    readonly accepted: boolean;
    readonly yes: string;
    readonly color?: boolean;
    readonly mode?: string;
  },
): CommandResult {
  const decision = report.verdict === 'warn' && !options.accepted;
  const failure =
    report.verdict === 'fail'
      ? `The assessment failed: ${failedChecks(report)}.`
      : decision
        ? `The assessment has warnings: accept them with ${options.yes} (or fix them and assess again).`
        : undefined;
  return commandResult({
    command: 'assess',
    status: report.verdict,
    exitClass: report.verdict === 'fail' ? 'failed' : decision ? 'decision' : 'ok',
    ...(options.mode ? { mode: options.mode } : {}),
    document: { assessment: report },
    text: [renderAssessmentText(report, { color: Boolean(options.color) })],
    notes: failure && report.verdict !== 'fail' ? [failure] : [],
    markdown: renderAssessmentMarkdown(report),
    // Each failed or warning check where a workflow shows it; the verdict itself is the failure.
    annotations: checks(report)
      .filter((c) => c.status === 'fail' || c.status === 'warn')
      .map((c) => ({
        level: c.status === 'fail' ? ('error' as const) : ('warning' as const),
        title: `upgradekit: ${c.title}`,
        message: `${c.detail}${c.suggestion ? ` — ${c.suggestion}` : ''}`,
      })),
    ...(failure ? { failure } : {}),
  });
}
