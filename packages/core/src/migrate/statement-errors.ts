// What stops a statement-by-statement resume, in the words the operator acts on: each names the
// statement, says what is known, and lists the decisions (`resolve`) that settle it.
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { type CancelPlace, engineOf, where } from './cancel.js';
import type { SqlDialect } from './split.js';

/** Statement `k` commits on its own and was running when the run was interrupted. */
export function inDoubt(p: CancelPlace, k: number, dialect: SqlDialect, evidence?: string): UpgradeKitError {
  const { task, file, statements } = p;
  return new UpgradeKitError(
    ErrorCodes.IN_DOUBT,
    // The first line is the headline that logs and summaries show; the rest is said once, with
    // the commands that settle it.
    `Task ${task.id}: ${where(p, k)} was running when the upgrade was interrupted and may or may not have taken effect.\n${engineOf(dialect)} commits it on its own, so nothing rolled it back${evidence ? `, and the catalog cannot tell (${evidence})` : ''}. Check it, then resolve the task: "applied" continues with statement ${k + 2}, "retry" runs statement ${k + 1} again.`,
    {
      context: {
        task: task.id,
        statement: k + 1,
        file,
        line: statements[k]?.line,
        decisions: ['applied', 'retry'],
      },
    },
  );
}

/** The file changed before its resume point `next`: what ran is no longer what it says. */
export function edited(p: CancelPlace, next: number, changed: { from: number; to: number }): UpgradeKitError {
  const { task, file, statements } = p;
  const which =
    changed.from === changed.to
      ? `statement ${changed.from + 1} (${file}:${statements[changed.from]?.line ?? '?'})`
      : `one of statements ${changed.from + 1}–${changed.to + 1} (from ${file}:${statements[changed.from]?.line ?? '?'})`;
  return new UpgradeKitError(
    ErrorCodes.IN_DOUBT,
    `Task ${task.id}: ${file} changed before the point where it stopped (statement ${next + 1}): ${which} is not what ran. Nothing was run.\nIf you restored or cleaned up, resolve the task to start the file again ("restart"), or to continue at a statement you name ("from statement N").`,
    {
      context: {
        task: task.id,
        file,
        statement: changed.from + 1,
        line: statements[changed.from]?.line,
        next: next + 1,
        decisions: ['restart', 'from'],
      },
    },
  );
}

/** The session the resume point needs held something a new session cannot have back. */
export function unrestorable(p: CancelPlace, next: number, what: string): UpgradeKitError {
  const { task, file } = p;
  return new UpgradeKitError(
    ErrorCodes.IN_DOUBT,
    `Task ${task.id}: cannot resume at ${where(p, next)}: ${what}, and a new session cannot have it back.\nClean up, then resolve the task to start the file again ("restart").`,
    {
      context: {
        task: task.id,
        file,
        statement: next + 1,
        next: next + 1,
        decisions: ['restart', 'from'],
      },
    },
  );
}

/** The file ended inside the transaction statement `start` opened: it was rolled back. */
export function unterminated(p: CancelPlace, start: number): UpgradeKitError {
  const { task, file, statements } = p;
  return new UpgradeKitError(
    ErrorCodes.STEP_FAILED,
    `Task ${task.id}: ${file} ends inside a transaction that statement ${start + 1} (${file}:${statements[start]?.line ?? '?'}) opened and nothing commits. It was rolled back, as the database's client would at the end of the file, and the task is not recorded as applied. Add the COMMIT the file is missing, then run again: it resumes at statement ${start + 1}.`,
    { context: { task: task.id, file, statement: start + 1, line: statements[start]?.line } },
  );
}
