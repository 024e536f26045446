import { anObject, checkArguments } from '../../options/index.js';
import type { AssessmentReport } from '../types.js';

/**
 * The report as one JSON document: the stable, documented form (`schema:
 * upgradekit.assessment/v1`; fields are only ever added). What `upgradekit assess --json` prints.
 *
 * @example
 * writeFileSync('assessment.json', renderAssessmentJson(report));
 */
export function renderAssessmentJson(report: AssessmentReport): string {
  checkArguments('renderAssessmentJson', { report: anObject('an assessment report (assess)') }, { report });
  return `${JSON.stringify(report, null, 2)}\n`;
}
