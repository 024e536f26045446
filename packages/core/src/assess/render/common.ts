import { plural } from '../../events/internal.js';
import { duration } from '../status.js';
import type { AssessmentReport, CheckStatus, StageEstimate } from '../types.js';

// English only: the seed's names for these sections are in docs/assess.md, not in the UI.
export const SECTION_TITLES = {
  resources: 'Resources',
  dataQuality: 'Data quality',
  compatibility: 'Compatibility',
  duration: 'Duration',
} as const;

export const SECTIONS = ['resources', 'dataQuality', 'compatibility', 'duration'] as const;

export const STATUS_WORD: Record<CheckStatus, string> = {
  pass: 'PASS',
  warn: 'WARN',
  fail: 'FAIL',
  skip: 'SKIP',
};

export function headline(report: AssessmentReport): string {
  const c = report.counts;
  return countsLine(c);
}

/** `0 failed, 1 warning, 4 passed, 2 skipped`: the report's verdict line and its event say it alike. */
export function countsLine(c: AssessmentReport['counts']): string {
  return `${c.fail} failed, ${plural(c.warn, 'warning')}, ${c.pass} passed, ${c.skip} skipped`;
}

export function verdictMeaning(report: AssessmentReport): string {
  switch (report.verdict) {
    case 'fail':
      return 'the upgrade must not start: fix the failed checks and assess again';
    case 'warn':
      return 'the upgrade may start after an operator confirms the warnings';
    default:
      return 'the upgrade may start';
  }
}

/** `6m40s`; `no estimate` when none of its tasks has one; `at least 6m40s (1 of 3 tasks without an estimate)`. */
export function stageDuration(st: StageEstimate): string {
  const unestimated = st.unestimated ?? 0;
  if (unestimated === 0) return duration(st.durationMs);
  if (unestimated >= st.tasks) return 'no estimate';
  return `at least ${duration(st.durationMs)} (${unestimated} of ${plural(st.tasks, 'task')} without an estimate)`;
}
