import type { StepContext } from '../model/index.js';
import type { Task } from '../release/index.js';
import { NotSent } from './cancel.js';
import type { EstimateTracking } from './estimate.js';
import type { MarkerKey } from './marker.js';
import type { Connection, TaskSession } from './session.js';
import type { SqlDialect, Statement } from './split.js';
import { SqlStatementError } from './sql-error.js';

/** A task's statements file, read and ready to run on its datasource: what both run modes are given. */
export interface TaskFile {
  readonly task: Task;
  readonly file: string;
  readonly dialect: SqlDialect;
  readonly connection: Connection;
  readonly statements: readonly Statement[];
  readonly key: MarkerKey;
  /** Runs one statement on the session, turning a failure into a SqlStatementError. */
  execute(ctx: StepContext, session: TaskSession, statement: Statement): Promise<unknown>;
  track(ctx: StepContext, startAt: number): Promise<EstimateTracking | undefined>;
}

/**
 * One statement on the session; an abort asks the server to stop it rather than walking away.
 * A statement the cancel came before is not sent at all (`NotSent`); a failure keeps the
 * driver's error as its cause, so a cancelled task can tell the server's answer from a lost
 * connection.
 */
export function statementExecutor(
  task: Task,
  file: string,
  statements: readonly Statement[],
  dialect: SqlDialect,
): TaskFile['execute'] {
  return async (ctx, session, statement) => {
    if (ctx.signal.aborted)
      throw new NotSent(`statement ${statement.index + 1} was not sent: the run was cancelled`);
    const onAbort = () => void session.cancel();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await session.execute(statement);
    } catch (error) {
      throw new SqlStatementError(
        { task: task.id, version: task.version, file, statement, total: statements.length, dialect },
        error,
      );
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
  };
}
