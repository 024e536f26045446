import { formatEngine, plural } from '../../events/internal.js';
import { anObject, checkArguments } from '../../options/index.js';
import { bytes, duration } from '../status.js';
import type { AssessmentReport, CheckResult, CheckStatus } from '../types.js';
import { headline, SECTION_TITLES, SECTIONS, STATUS_WORD, stageDuration, verdictMeaning } from './common.js';

export interface TextRenderOptions {
  /** ANSI colours, for a TTY. Default false. */
  readonly color?: boolean;
}

const COLOR: Record<CheckStatus, string> = { pass: '32', warn: '33', fail: '31', skip: '90' };

/**
 * The report for a terminal: verdict first, then the four sections with one line per check and
 * its suggestion, in the seed's report order.
 *
 * @example
 * process.stderr.write(renderAssessmentText(report, { color: process.stderr.isTTY }));
 */
export function renderAssessmentText(report: AssessmentReport, options: TextRenderOptions = {}): string {
  checkArguments('renderAssessmentText', { report: anObject('an assessment report (assess)') }, { report });
  const paint = (status: CheckStatus, text: string) =>
    options.color ? `\u001b[${COLOR[status]}m${text}\u001b[0m` : text;
  const tag = (status: CheckStatus) => paint(status, `[${STATUS_WORD[status]}]`);
  const lines: string[] = [];
  lines.push(
    `Assessment of ${report.component} ${report.from} → ${report.to}${report.site ? ` at site ${report.site}` : ''}`,
  );
  lines.push(
    `Verdict: ${paint(report.verdict, report.verdict.toUpperCase())} — ${headline(report)}; ${verdictMeaning(report)}`,
  );
  if (report.route) {
    lines.push('', `Upgrade path (${report.route.mode}):`);
    report.route.hops.forEach((h, i) => {
      lines.push(
        `  ${i + 1}. ${h.from} → ${h.to} (${h.mode}, ${h.upgradeMode} mode, ${plural(h.tasks, 'task')}${h.estimateMs === undefined ? '' : `, ~${duration(h.estimateMs)}`}) — rollback point ${h.rollbackPoint.id} at ${h.rollbackPoint.version}`,
      );
    });
  }
  const check = (c: CheckResult) => {
    lines.push(`  ${tag(c.status)} ${c.title}: ${c.detail}${c.accepted ? ' — accepted for this run' : ''}`);
    if (c.suggestion && !c.accepted && (c.status === 'fail' || c.status === 'warn'))
      lines.push(`         → ${c.suggestion}`);
  };
  for (const name of SECTIONS) {
    const s = report[name];
    lines.push('', `${SECTION_TITLES[name]} ${tag(s.status)}`);
    if (name === 'resources') {
      for (const b of report.resources.backups) {
        if (b.backupBytes !== undefined)
          lines.push(
            `  backup of ${b.datasource} (${formatEngine(b.type)}): data ${bytes(b.dataBytes)} → ~${bytes(b.backupBytes)}${b.dualWriteBytes ? `, dual write ${bytes(b.dualWriteBytes)}` : ''}`,
          );
      }
    }
    if (name === 'compatibility') {
      lines.push(
        `  mode: ${report.compatibility.mode === 'rolling' ? 'rolling upgrade (no downtime)' : 'stop-mode upgrade'}`,
      );
      report.compatibility.incompatible.forEach((i) => {
        lines.push(`  - ${i.kind} ${i.item}${i.version ? ` (${i.version})` : ''}: ${i.reason}`);
      });
    }
    if (name === 'duration') {
      for (const st of report.duration.stages) {
        lines.push(
          `  ${st.hop === undefined ? '' : `hop ${st.hop + 1} `}${st.stage} (${st.cutPoint}, ${st.parallelTasks ? `${st.parallelTasks} of ${st.tasks} parallel` : 'serial'}): ${stageDuration(st)}${st.longest ? `, longest ${st.longest}` : ''}`,
        );
      }
    }
    for (const c of s.checks) check(c);
  }
  return `${lines.join('\n')}\n`;
}
