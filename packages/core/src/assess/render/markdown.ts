import { formatEngine } from '../../events/internal.js';
import { anObject, checkArguments } from '../../options/index.js';
import { bytes } from '../status.js';
import type { AssessmentReport, CheckResult, CheckStatus } from '../types.js';
import { headline, SECTION_TITLES, SECTIONS, STATUS_WORD, stageDuration, verdictMeaning } from './common.js';

const ICON: Record<CheckStatus, string> = { pass: '✅', warn: '⚠️', fail: '❌', skip: '⏭️' };

/** Table cells: no line breaks, no stray pipes, no HTML. */
function cell(text: string | number | undefined): string {
  return String(text ?? '')
    .replace(/\r?\n/g, ' ')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;');
}

function table(
  head: readonly string[],
  rows: readonly (readonly (string | number | undefined)[])[],
): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => ' --- ').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

function checks(list: readonly CheckResult[]): string[] {
  return table(
    ['', 'Check', 'Result', 'Suggestion'],
    list.map((c) => [
      `${ICON[c.status]} ${STATUS_WORD[c.status]}`,
      c.title,
      c.accepted ? `${c.detail} — accepted for this run` : c.detail,
      !c.accepted && (c.status === 'warn' || c.status === 'fail') ? (c.suggestion ?? '') : '',
    ]),
  );
}

/**
 * The report as Markdown: a verdict line and one table per section. The GitHub/Gitea Action
 * writes it to the job summary; it reads the same in a pull request comment.
 *
 * @example
 * appendFileSync(process.env.GITHUB_STEP_SUMMARY!, renderAssessmentMarkdown(report));
 */
export function renderAssessmentMarkdown(report: AssessmentReport): string {
  checkArguments(
    'renderAssessmentMarkdown',
    { report: anObject('an assessment report (assess)') },
    { report },
  );
  const out: string[] = [];
  out.push(
    `## Upgrade assessment: ${cell(report.component)} ${cell(report.from)} → ${cell(report.to)}${report.site ? ` (site ${cell(report.site)})` : ''}`,
    '',
    `**Verdict: ${ICON[report.verdict]} ${report.verdict.toUpperCase()}** — ${headline(report)}; ${verdictMeaning(report)}.`,
  );
  if (report.route) {
    out.push('', `### Upgrade path (${report.route.mode})`, '');
    out.push(
      ...table(
        ['#', 'From', 'To', 'Hop', 'Mode', 'Tasks', 'Rollback point'],
        report.route.hops.map((h, i) => [
          i + 1,
          h.from,
          h.to,
          h.mode,
          h.upgradeMode,
          h.tasks,
          `${h.rollbackPoint.id} (${h.rollbackPoint.version})`,
        ]),
      ),
    );
  }
  for (const name of SECTIONS) {
    const s = report[name];
    out.push('', `### ${ICON[s.status]} ${SECTION_TITLES[name]}`, '');
    if (name === 'resources' && report.resources.backups.some((b) => b.backupBytes !== undefined)) {
      out.push(
        ...table(
          ['Datasource', 'Type', 'Data', 'Backup', 'Dual write'],
          report.resources.backups
            .filter((b) => b.backupBytes !== undefined)
            .map((b) => [
              b.datasource,
              formatEngine(b.type),
              bytes(b.dataBytes),
              bytes(b.backupBytes),
              b.dualWriteBytes ? bytes(b.dualWriteBytes) : '',
            ]),
        ),
        '',
      );
    }
    if (name === 'compatibility') {
      out.push(`Mode: **${report.compatibility.mode === 'rolling' ? 'rolling (no downtime)' : 'stop'}**`, '');
      if (report.compatibility.incompatible.length > 0) {
        out.push(
          ...table(
            ['Item', 'Kind', 'Version', 'Compatible from', 'Reason'],
            report.compatibility.incompatible.map((i) => [
              i.item,
              i.kind,
              i.version,
              i.compatibleFrom,
              i.reason,
            ]),
          ),
          '',
        );
      }
    }
    if (name === 'duration' && report.duration.stages.length > 0) {
      out.push(
        ...table(
          ['Stage', 'Cut-point', 'Tasks', 'Parallel', 'Estimate', 'Longest'],
          report.duration.stages.map((st) => [
            `${st.hop === undefined ? '' : `hop ${st.hop + 1} `}${st.stage}`,
            st.cutPoint,
            st.tasks,
            st.parallelTasks,
            stageDuration(st),
            st.longest,
          ]),
        ),
        '',
      );
    }
    out.push(...(s.checks.length > 0 ? checks(s.checks) : ['_No checks._']));
  }
  return `${out.join('\n')}\n`;
}
