import { writeFileSync } from 'node:fs';
import { Exit, type ExitCode, type Output } from '../output.js';
import type { PlanFlags } from './plan.js';
import { withPreparedUpgrade } from './session.js';

export interface AssessFlags extends PlanFlags {
  /** Also write the report as Markdown (a change ticket, a CI summary). */
  readonly markdown?: string;
}

/** Exit 0 pass, 1 fail, 3 warn (an operator must accept the warnings; --yes does). */
export function assessCommand(flags: AssessFlags, out: Output): Promise<ExitCode> {
  return withPreparedUpgrade(flags, {}, async (session, prepared) => {
    const { core } = session;
    const report = await core.assessSite(prepared, session.config, { events: session.events });
    out.document(report);
    out.text(core.renderAssessmentText(report, { color: session.interactive && !process.env.NO_COLOR }));
    if (flags.markdown) writeFileSync(flags.markdown, core.renderAssessmentMarkdown(report));
    if (report.verdict === 'fail') return Exit.failed;
    if (report.verdict === 'warn' && !flags.yes) {
      out.note('The assessment has warnings: accept them with --yes (or fix them and assess again).');
      return Exit.decision;
    }
    return Exit.ok;
  });
}
