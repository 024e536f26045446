import type { AssessmentReport } from '../types.js';

/**
 * The report as one JSON document: the stable, documented form (`schema:
 * upgradekit.assessment/v1`; fields are only ever added). What `upgradekit assess --json` prints.
 *
 * @example
 * writeFileSync('assessment.json', renderAssessmentJson(report));
 */
export function renderAssessmentJson(report: AssessmentReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
