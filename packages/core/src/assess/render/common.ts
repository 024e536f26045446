import type { AssessmentReport, CheckStatus } from '../types.js';

export const SECTION_TITLES = {
  resources: 'Resources (资源需求检查)',
  dataQuality: 'Data quality (数据质量检查)',
  compatibility: 'Compatibility (获取兼容信息)',
  duration: 'Duration (升级耗时评估)',
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
  return `${c.fail} failed, ${c.warn} warning${c.warn === 1 ? '' : 's'}, ${c.pass} passed, ${c.skip} skipped`;
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
