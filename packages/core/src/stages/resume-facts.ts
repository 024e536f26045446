import type { StepRecord } from '../state/index.js';
import type { PlannedStep } from './normalize.js';
import type { ResumeFacts } from './resume.js';

/**
 * The facts the resume decision needs about an engine step, from its recorded row. `liveRunId` is
 * the run deciding (during a run) or the site lock's holder (for status and dry run); `outcome`
 * is what the last attempt's log row says, when the caller read it.
 */
export function resumeFacts(
  step: PlannedStep,
  record: StepRecord | undefined,
  context: { readonly liveRunId: string | undefined; readonly outcome?: string | undefined },
): ResumeFacts {
  const now = step.definition.checksum;
  return {
    status: record?.status,
    ...(record ? { runId: record.runId } : {}),
    runAlive: record !== undefined && record.runId === context.liveRunId,
    ...(context.outcome !== undefined ? { outcome: context.outcome } : {}),
    // The step's own account of its cancel (see migrate/cancel.ts): rolled back, nothing in doubt.
    ...(record?.status === 'aborted' && record.errorDetail?.outcome === 'rolled-back'
      ? { settled: true }
      : {}),
    idempotent: step.idempotent,
    changed: Boolean(now && record?.checksum && record.checksum !== now),
    check: step.definition.skipIf ? 'always' : 'none',
    ...(record?.progress !== undefined ? { progress: describeProgress(step, record.progress) ?? '' } : {}),
    ...(record?.progress !== undefined ? inDoubt(step, record.progress) : {}),
  };
}

/** What the step says its saved progress leaves in doubt (`progressInDoubt`), if anything. */
function inDoubt(step: PlannedStep, progress: string): { progressInDoubt?: string } {
  if (!step.definition.progressInDoubt) return {};
  try {
    const text = step.definition.progressInDoubt(progress);
    return text === undefined ? {} : { progressInDoubt: text };
  } catch {
    // Unreadable progress: the step itself will say so when it runs.
    return {};
  }
}

/** What the step says of its saved progress; undefined when it has nothing to show. */
export function describeProgress(step: PlannedStep, progress: string | undefined): string | undefined {
  if (progress === undefined || !step.definition.describeProgress) return undefined;
  try {
    return step.definition.describeProgress(progress);
  } catch {
    // A status must not fail on one step's unreadable progress: it then just shows none.
    return undefined;
  }
}
