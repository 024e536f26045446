import type { RollbackRecord, StateStore, StepRecord } from '../state/index.js';
import { compareVersions } from '../version/index.js';

/** A step the restore undid: introduced after the restored version, up to the one left. */
function undone(step: StepRecord, record: RollbackRecord): boolean {
  if (step.status === 'pending') return false;
  // A compatible rollback keeps the data: steps that changed it stay done.
  if (record.mode === 'compatible' && step.kind === 'database') return false;
  try {
    return (
      compareVersions(step.taskVersion, record.toVersion) > 0 &&
      compareVersions(step.taskVersion, record.fromVersion) <= 0
    );
  } catch {
    // A version this scheme cannot read was not written by this upgrade path: leave it.
    return false;
  }
}

/**
 * After a rollback verifies, the upgrade's steps it undid are `pending` again (with the reason in
 * `upgrade_log`), so running the upgrade once more does the work again instead of reporting
 * "nothing to do" over a restored database.
 */
export async function reopenUndoneSteps(state: StateStore, record: RollbackRecord): Promise<StepRecord[]> {
  const steps = [...(await state.loadSteps(record.component, record.site)).values()].filter((s) =>
    undone(s, record),
  );
  for (const step of steps) {
    await state.setStepStatus(step, 'pending', {
      runId: record.rollbackId,
      stage: step.stage,
      taskName: step.taskName,
      versionFrom: record.fromVersion,
      versionTo: record.toVersion,
      reason: `undone by ${record.mode} rollback ${record.rollbackId} (backup ${record.backupId}): runs again with the next upgrade`,
    });
  }
  return steps;
}
