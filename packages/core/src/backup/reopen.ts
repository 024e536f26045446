import type { RollbackRecord, StateStore, StepRecord } from '../state/index.js';
import { compareVersions } from '../version/index.js';

export interface ReopenResult {
  /** Set back to pending: the next upgrade runs them again. */
  readonly reopened: StepRecord[];
  /** Compatible rollback only: recorded before state schema 3, so whether they changed data is unknown; left done. */
  readonly unknown: StepRecord[];
}

/** Introduced after the restored version — whatever version was running when the backup was restored. */
function after(step: StepRecord, restored: string): boolean {
  try {
    return compareVersions(step.taskVersion, restored) > 0;
  } catch {
    // A version this scheme cannot read was not written by an upgrade of this component: leave it.
    return false;
  }
}

/**
 * After a rollback verifies, the upgrade steps it undid are `pending` again (with the reason in
 * `upgrade_log`), so running the upgrade once more does the work again instead of reporting
 * "nothing to do" over a restored database. That is every done step of a version after the
 * restored one — not only up to the backup's `version_to`: an older backup undoes later upgrades
 * too. A compatible rollback keeps the data, so it keeps the steps that changed data done.
 */
export async function reopenUndoneSteps(state: StateStore, record: RollbackRecord): Promise<ReopenResult> {
  const candidates = [...(await state.loadSteps(record.component, record.site)).values()].filter(
    (s) => s.status !== 'pending' && after(s, record.toVersion),
  );
  const compatible = record.mode === 'compatible';
  const unknown = compatible ? candidates.filter((s) => s.changesData === undefined) : [];
  const reopened = compatible ? candidates.filter((s) => s.changesData === false) : candidates;
  for (const step of reopened) {
    await state.setStepStatus(step, 'pending', {
      runId: record.rollbackId,
      stage: step.stage,
      taskName: step.taskName,
      versionFrom: record.fromVersion,
      versionTo: record.toVersion,
      reason: `undone by ${record.mode} rollback ${record.rollbackId} (backup ${record.backupId}): the next upgrade runs it again, unless its own check finds the work still there (a backup that still verifies)`,
    });
  }
  return { reopened, unknown };
}
