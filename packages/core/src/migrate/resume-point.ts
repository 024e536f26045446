// Where a statement-by-statement run resumes: the copy of its progress to trust, what refuses a
// resume, and the statement an interrupted run left in doubt, settled before anything else runs.
import type { StepContext } from '../model/index.js';
import { settleInDoubt } from './in-doubt/index.js';
import { firstChange, type StatementProgress } from './progress.js';
import type { TaskSession } from './session.js';
import { edited, inDoubt, unrestorable } from './statement-errors.js';
import type { TaskFile } from './task-file.js';

type Mirror = (p: StatementProgress) => Promise<void>;

/**
 * The target's copy commits with the work, so it is the truth about what committed; the state
 * store's copy can be ahead of it (written, then the commit never came) or behind it (copied at
 * most once a second). The state store's wins only when it carries an operator's decision, which
 * is taken once and then written to the target.
 */
export function pickProgress(
  stored: StatementProgress | undefined,
  mirrored: StatementProgress | undefined,
): StatementProgress {
  if (mirrored?.decided) return mirrored;
  return stored ?? mirrored ?? { next: 0, seq: 0 };
}

/**
 * Refuses to resume a file edited before its resume point, or a session a new one cannot rebuild;
 * the state store hears the progress first, so `status` shows where it stopped.
 */
export async function refuseResume(
  input: TaskFile,
  progress: StatementProgress,
  mirror: Mirror,
): Promise<void> {
  if (progress.next > 0 && progress.chain) {
    const changed = firstChange(progress.chain, input.statements, progress.next);
    if (changed) {
      await mirror(progress);
      throw edited(input, progress.next, changed);
    }
  }
  if (progress.session?.unrestorable) {
    await mirror(progress);
    throw unrestorable(input, progress.next, progress.session.unrestorable);
  }
}

/**
 * Settles the statement marked `started` on the restored session (unqualified names resolve where
 * it ran): applied → the next statement; not applied, harmless to re-run, or an idempotent task →
 * run it again; else the task stops in doubt for an operator. Returns the progress to go on from.
 */
export async function settleStarted(
  ctx: StepContext,
  session: TaskSession,
  input: TaskFile & { readonly killInDoubt?: boolean },
  progress: StatementProgress & { started: number },
  mirror: Mirror,
): Promise<StatementProgress> {
  const { task, file, dialect, statements } = input;
  const k = progress.started;
  const statement = statements[k];
  const where = `statement ${k + 1} of ${statements.length} (${file}:${statement?.line ?? '?'})`;
  const settled = statement
    ? await settleInDoubt({
        session,
        dialect,
        statement,
        mark: progress.server,
        kill: input.killInDoubt === true,
        signal: ctx.signal,
        log: ctx.log,
        where,
      })
    : undefined;
  const { started: _started, server: _server, ...rest } = progress;
  const waited = settled?.waitedMs
    ? ` after it ended on the server (${Math.round(settled.waitedMs / 1000)} s${settled.cancelled ? ', cancelled' : ''})`
    : '';
  if (settled?.verdict === 'applied') {
    ctx.log.warn(
      `${where} was in doubt${waited}: it took effect (${settled.evidence}); continuing with the next statement`,
    );
    return { ...rest, next: k + 1 };
  }
  if (settled && settled.verdict !== 'unknown') {
    if (settled.before) await session.execute({ sql: settled.before });
    ctx.log.warn(
      `${where} was in doubt${waited}: ${settled.verdict === 'rerun' ? settled.evidence : `it did not take effect (${settled.evidence})`}; running it again`,
    );
    return rest;
  }
  if (task.idempotent) {
    ctx.log.warn(
      `${where} was in doubt${waited} (${settled?.evidence ?? 'no evidence'}); running it again: the task is idempotent`,
    );
    return rest;
  }
  await mirror(progress);
  throw inDoubt(input, k, dialect, settled?.evidence);
}
