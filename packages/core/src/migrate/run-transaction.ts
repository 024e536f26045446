import type { Knex } from 'knex';
import type { StepContext } from '../model/index.js';
import { stateAccess } from '../stages/internal.js';
import { commitInDoubt, NotSent, transactionRolledBack } from './cancel.js';
import { ensureMarkerTable, insertMarker } from './marker.js';
import { openSession } from './session.js';
import type { TaskFile } from './task-file.js';

/**
 * Runs a task's statements in one transaction on a session of its own, with a marker row in
 * `upgradekit_applied` that commits with the work; when the connection is the state database
 * itself, the step's success row commits in the same transaction: exactly once.
 */
export async function runTransaction(ctx: StepContext, input: TaskFile): Promise<void> {
  const { task, file, dialect, connection, statements, execute } = input;
  const knex = connection as Knex;
  const state = stateAccess(ctx);
  const sameDatabase = state !== undefined && knex === state.knex;
  const shared = dialect === 'sqlite' && sameDatabase;
  // SQLite sharing the pool's only connection: create the table before the session holds it.
  if (dialect === 'sqlite') await ensureMarkerTable(knex, undefined);
  const session = await openSession(connection, { shared });
  const tracking = await input.track(ctx, 0);
  // A cancel stops the task before its COMMIT: whatever ran is rolled back with the transaction.
  let running: number | undefined;
  let stoppedDuring: number | undefined;
  let committing = false;
  const onAbort = () => {
    stoppedDuring = running;
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const stopIfCancelled = () => {
    if (ctx.signal.aborted) throw new NotSent('the run was cancelled');
  };
  try {
    if (dialect !== 'sqlite') await ensureMarkerTable(knex, session.schema);
    ctx.inFlight?.(
      `its transaction is open and nothing of it is committed: the server rolls it back when the connection closes; the next run runs it again`,
    );
    await session.transaction!(async (trx) => {
      for (const statement of statements) {
        stopIfCancelled();
        running = statement.index;
        const result = await execute(ctx, session, statement);
        running = undefined;
        tracking?.statementDone(statement.index, result);
      }
      // The file may have moved the session (USE, search_path); the runner's rows go home.
      await session.restore();
      stopIfCancelled();
      // The marker commits with the work: after a crash it tells "applied" from "rolled back".
      await insertMarker(trx, session.schema, { ...input.key, checksum: task.checksum });
      if (sameDatabase) await state.succeedWithin(trx);
      // The last moment at which a cancel still means "nothing committed".
      stopIfCancelled();
      committing = true;
      ctx.inFlight?.(
        `its COMMIT was sent: it may have committed; the next run finds out from its marker row in upgradekit_applied`,
      );
    });
  } catch (error) {
    if (!ctx.signal.aborted) throw error;
    const place = { task, file, statements };
    throw committing ? commitInDoubt(place, error) : transactionRolledBack(place, stoppedDuring);
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    tracking?.end();
    await session.close(ctx.signal.aborted);
  }
}
