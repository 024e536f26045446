import { relative } from 'node:path';
import type { Knex } from 'knex';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { ResolveDecision, StepContext, StepDefinition } from '../model/index.js';
import { TASK_STAGES } from '../model/index.js';
import { anObject, checkArguments } from '../options/index.js';
import type { Plan } from '../plan/index.js';
import type { Release, Task } from '../release/index.js';
import type { Upgrade } from '../stages/index.js';
import { commitInDoubt, NotSent, transactionRolledBack } from './cancel.js';
import { type EstimateTracking, trackEstimate } from './estimate.js';
import { ensureMarkerTable, insertMarker, markerPresent } from './marker.js';
import {
  describeStatementProgress,
  parseProgress,
  resolveStatementProgress,
  statementInDoubt,
} from './progress.js';
import { readSqlText } from './read-sql.js';
import { commandStep, toolStep } from './run-program.js';
import { runStatements } from './run-statements.js';
import {
  type Connection,
  dialectOf,
  isKnex,
  openSession,
  poolQuery,
  poolRows,
  type TaskSession,
} from './session.js';
import {
  applyPlaceholders,
  classifyStatement,
  type SqlDialect,
  type Statement,
  splitStatements,
} from './split.js';
import { SqlStatementError } from './sql-error.js';

export interface TaskRunOptions {
  readonly release: Release;
  /** One open connection per datasource name of the release: a knex instance or a ClickHouse client. */
  readonly connections: Readonly<Record<string, Connection>>;
  /** Values for `${name}` in SQL files. Configuration only: never the environment. */
  readonly placeholders?: Readonly<Record<string, string>>;
  /**
   * How often the actual rate of a task with an `estimate` is measured while it runs, to correct
   * its remaining time (seed 001 §5.2.4: every 30 s). Default 30 000.
   */
  readonly estimateIntervalMs?: number;
  /**
   * A statement that an interrupted run left running on the server is cancelled there (`KILL
   * QUERY`, `pg_cancel_backend`) instead of awaited before its outcome is decided. Default false.
   */
  readonly killInDoubt?: boolean;
}

/** How a task's statements are made safe to resume. */
export type SqlMode =
  /** All statements in one transaction; with the state in the same database, the success row too. */
  | 'transaction'
  /** Statements auto-commit (MySQL DDL, ClickHouse): progress is recorded per statement. */
  | 'per-statement';

function bad(task: Task, message: string): UpgradeKitError {
  return new UpgradeKitError(
    ErrorCodes.BAD_INPUT,
    `task ${task.id} (${task.source.file}:${task.source.line}): ${message}`,
    {
      context: { task: task.id, version: task.version, ...task.source },
    },
  );
}

/**
 * The mode a task's statements run in on a given connection: one transaction wherever the database
 * can hold every statement in one, else one by one (MySQL/MariaDB DDL commits on its own, ClickHouse
 * has no transactions, some PostgreSQL statements refuse a transaction block).
 */
export function sqlMode(
  dialect: SqlDialect,
  statements: readonly Statement[],
  task?: Pick<Task, 'transaction'>,
): SqlMode {
  return outsideTransaction(dialect, statements, task) ? 'per-statement' : 'transaction';
}

// MySQL statements that are provably transactional DML (or session-only): a file of nothing else
// can be one transaction. Anything else — DDL, CALL (a procedure may COMMIT), LOCK, unknown — is
// run statement by statement: classification is fail-safe.
const MYSQL_TRANSACTIONAL = new Set([
  'INSERT',
  'UPDATE',
  'DELETE',
  'REPLACE',
  'SELECT',
  'WITH',
  'DO',
  'VALUES',
  'TABLE',
  'SET',
]);

/** Why a task cannot run in one transaction, or undefined when it can. */
function outsideTransaction(
  dialect: SqlDialect,
  statements: readonly Statement[],
  task?: Pick<Task, 'transaction'>,
): string | undefined {
  if (dialect === 'clickhouse') return 'ClickHouse has no transactions';
  if (task?.transaction === false) return 'the task says transaction: false';
  for (const statement of statements) {
    const c = classifyStatement(statement.sql, dialect);
    const at = `${statement.sql.replace(/\s+/g, ' ').slice(0, 40)} (line ${statement.line})`;
    if (c.transactionControl) return `the file controls its transactions: ${at}`;
    if (dialect === 'mysql' && c.commitsImplicitly) return `${c.keyword} commits on its own`;
    if (dialect === 'mysql' && !MYSQL_TRANSACTIONAL.has(c.keyword))
      return `${c.keyword || at} may commit on its own`;
    if (dialect === 'postgres' && c.noTransactionBlock) return `${at} cannot run inside a transaction block`;
    if (c.usableAfterCommit) return `${at} adds what its own transaction could not use`;
  }
  return undefined;
}

/**
 * Turns a release task into an engine step: reads and splits its file, fills placeholders and
 * picks the transaction mode now, so that a missing connection, file or placeholder, or a psql
 * meta-command the runner cannot honour, fails before anything runs.
 *
 * Every attempt runs on a session of its own — a raw driver connection opened for the task and
 * closed after it, as the database's own client would run the file (see {@link openSession}).
 *
 * - `transaction`: every statement in one transaction, with a marker row in `upgradekit_applied`.
 *   When the connection is the state database itself, the success row commits in the same
 *   transaction: exactly once.
 * - `per-statement`: MySQL/MariaDB DDL, ClickHouse, PostgreSQL statements that refuse a transaction
 *   block, `transaction: false`. Progress is saved before and after each statement; a failure at
 *   statement k resumes at k. A crash *during* statement k leaves k in doubt: an `idempotent` task
 *   re-runs it, others stop with `UPGRADEKIT_IN_DOUBT` naming the statement until an operator
 *   resolves it.
 */
export function taskStep(task: Task, options: TaskRunOptions): StepDefinition {
  if (task.kind !== 'sql' && task.kind !== 'clickhouse') {
    throw bad(task, `${task.kind} tasks are not run by the SQL runner`);
  }
  if (!task.file) throw bad(task, 'has no statements file');
  const name = task.datasource ?? '';
  const connection = options.connections[name];
  if (!connection) {
    throw bad(
      task,
      `no connection for datasource "${name}"; pass it in \`connections\` (have: ${Object.keys(options.connections).join(', ') || 'none'})`,
    );
  }
  const dialect = dialectOf(connection);
  if ((dialect === 'clickhouse') !== (task.kind === 'clickhouse')) {
    throw bad(task, `a ${task.kind} task cannot run on the ${dialect} connection of datasource "${name}"`);
  }
  const file = relative(options.release.dir, task.file);
  const statements = applyPlaceholders(
    splitStatements(readSqlText(task.file, file), dialect, file),
    options.placeholders ?? {},
    file,
    { dialect, inStrings: task.placeholdersInStrings === true },
  );
  // A task that would do nothing is a file saved empty or a wrong path: say so before anything runs.
  if (statements.length === 0)
    throw bad(
      task,
      `${file} holds no statements (only whitespace and comments): add them, or remove the task`,
    );
  const whyNot = outsideTransaction(dialect, statements, task);
  const mode: SqlMode = whyNot ? 'per-statement' : 'transaction';

  /** The single number a check or an estimate query returns. */
  const queryNumber = async (sql: string): Promise<number> => Number(await poolQuery(connection, sql));
  const track = (ctx: StepContext, startAt: number): Promise<EstimateTracking | undefined> =>
    trackEstimate(task, ctx, {
      statements: statements.length,
      startAt,
      intervalMs: options.estimateIntervalMs ?? 30_000,
      queryVolume: (sql) => queryNumber(sql),
    });

  /**
   * One statement on the session; an abort asks the server to stop it rather than walking away.
   * A statement the cancel came before is not sent at all (`NotSent`); a failure keeps the
   * driver's error as its cause, so a cancelled task can tell the server's answer from a lost
   * connection.
   */
  const execute = async (ctx: StepContext, session: TaskSession, statement: Statement) => {
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

  const marker = { component: options.release.component, task_version: task.version, task_id: task.id };
  const place = { task, file, statements };
  const runTransaction = async (ctx: StepContext) => {
    const knex = connection as Knex;
    const sameDatabase = knex === ctx.stateKnex;
    const shared = dialect === 'sqlite' && sameDatabase;
    // SQLite sharing the pool's only connection: create the table before the session holds it.
    if (dialect === 'sqlite') await ensureMarkerTable(knex, undefined);
    const session = await openSession(connection, { shared });
    const tracking = await track(ctx, 0);
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
        await insertMarker(trx, session.schema, { ...marker, checksum: task.checksum });
        if (sameDatabase) await ctx.succeedWithin(trx);
        // The last moment at which a cancel still means "nothing committed".
        stopIfCancelled();
        committing = true;
        ctx.inFlight?.(
          `its COMMIT was sent: it may have committed; the next run finds out from its marker row in upgradekit_applied`,
        );
      });
    } catch (error) {
      if (!ctx.signal.aborted) throw error;
      throw committing ? commitInDoubt(place, error) : transactionRolledBack(place, stoppedDuring);
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      tracking?.end();
      await session.close(ctx.signal.aborted);
    }
  };

  const classes = statements.map((st) => classifyStatement(st.sql, dialect));
  const uses = dialect === 'clickhouse' ? statements.filter((_, k) => classes[k]?.keyword === 'USE') : [];
  const runPerStatement = async (ctx: StepContext) => {
    if (uses.length > 0) await refuseIneffectiveUse(connection, task, file, uses);
    return runStatements(ctx, {
      ...(options.killInDoubt ? { killInDoubt: true } : {}),
      task,
      file,
      dialect,
      connection,
      statements,
      classes,
      key: marker,
      execute,
      track,
    });
  };

  const check = task.check;
  return {
    id: task.id,
    name: task.description ?? file,
    version: task.version,
    checksum: task.checksum,
    summary: `${task.kind} on ${name}: ${statements.length} statement${statements.length === 1 ? '' : 's'} from ${file}, ${mode === 'transaction' ? 'in one transaction' : `committed one by one (${whyNot})`}`,
    kind: 'database',
    changesData: true,
    ...(task.timeoutMs ? { timeoutMs: task.timeoutMs } : {}),
    ...(task.retry?.attempts
      ? {
          retry: {
            attempts: task.retry.attempts,
            ...(task.retry.minDelayMs !== undefined ? { minDelayMs: task.retry.minDelayMs } : {}),
          },
        }
      : {}),
    ...(task.retry?.scope ? { scope: task.retry.scope as StepDefinition['scope'] & string } : {}),
    ...(task.criticality ? { criticality: task.criticality } : {}),
    // Both modes resume safely by themselves; doubt about one statement is handled inside.
    idempotent: true,
    ...(check || mode === 'transaction'
      ? {
          skipIf: async () => {
            if (mode === 'transaction' && isKnex(connection) && (await markerPresent(connection, marker)))
              return true;
            if (!check) return false;
            return (await queryNumber(check)) > 0;
          },
        }
      : {}),
    // A file an earlier attempt ran statement by statement — another version of it, classified
    // otherwise (a typo'd keyword "may commit on its own") — has committed part of itself: it
    // continues the same way, past what it committed, instead of starting one transaction at
    // statement 1 and applying that part twice.
    run: (ctx: StepContext) =>
      mode === 'transaction' && !((parseProgress(ctx.progress)?.next ?? 0) > 0)
        ? runTransaction(ctx)
        : runPerStatement(ctx),
    // The runner owns its progress format: an operator's decision and `status` go through it.
    ...(mode === 'per-statement'
      ? {
          resolveProgress: (progress: string | undefined, decision: ResolveDecision) => {
            const r = resolveStatementProgress(
              parseProgress(progress),
              decision.kind === 'from'
                ? { kind: 'from', position: decision.position }
                : { kind: decision.kind },
              statements,
              file,
            );
            return {
              progress: r.progress ? JSON.stringify(r.progress) : undefined,
              done: r.done,
              message: r.message,
            };
          },
          describeProgress: (progress: string | undefined) =>
            describeStatementProgress(parseProgress(progress), statements, file),
          // What runStatements stops on when it resumes: a statement that commits on its own was
          // running. An idempotent task runs it again instead.
          ...(task.idempotent
            ? {}
            : {
                progressInDoubt: (progress: string | undefined) =>
                  statementInDoubt(parseProgress(progress), statements, file, dialect),
              }),
        }
      : {}),
  };
}

/**
 * `USE` in a ClickHouse file switches the database for the statements after it, as in one
 * clickhouse-client session — but only where the client sends no database of its own:
 * `@clickhouse/client` sends its configured database with every request (unless it is `default`),
 * and the server takes that over the session's `USE`. Rather than run the file against the wrong
 * database, refuse it before its first statement, naming the line and the two ways out.
 */
async function refuseIneffectiveUse(
  connection: Connection,
  task: Task,
  file: string,
  uses: readonly Statement[],
): Promise<void> {
  const [row] = await poolRows(connection, 'SELECT currentDatabase() AS db');
  const configured = String(row?.db ?? 'default');
  if (configured === 'default') return;
  for (const use of uses) {
    const target = /^\s*USE\s+(`(?:[^`]|``)*`|"(?:[^"]|"")*"|\S+?)\s*;?\s*$/i.exec(use.sql)?.[1] ?? '';
    const name = /^[`"]/.test(target) ? target.slice(1, -1) : target;
    if (name === configured) continue;
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `task ${task.id}: ${file}:${use.line}: USE ${name} would not take effect: the ClickHouse client of this datasource sends database "${configured}" with every request, which the server takes over the session's USE. Qualify the tables (${name}.table) instead of USE, or give the datasource the database "default"`,
      { context: { task: task.id, version: task.version, file, line: use.line } },
    );
  }
}

/**
 * Adds every SQL and ClickHouse task of a plan to an upgrade, at its cut-point, in plan order.
 *
 * @example
 * const p = plan({ release, from: '2.16.5', to: '2.16.7', site: 'site-042' });
 * addPlanSteps(upgrade, p, { release, connections: { main: knex } });
 * await upgrade.runStage('preStart');
 */
export function addPlanSteps(upgrade: Upgrade, plan: Plan, options: TaskRunOptions): void {
  checkArguments(
    'addPlanSteps',
    {
      upgrade: anObject('an Upgrade (createUpgrade())'),
      plan: anObject('a plan (plan())'),
      options: anObject('{ release, connections, placeholders? }'),
    },
    { upgrade, plan, options },
  );
  // Build every step first: a bad task fails before any is added.
  const steps = plan.tasks.map((t) => {
    const step =
      t.kind === 'command'
        ? commandStep(t, options.release)
        : t.kind === 'tool'
          ? toolStep(t, options.release)
          : taskStep(t, options);
    return [t, step] as const;
  });
  for (const [task, step] of steps) upgrade.step(TASK_STAGES[task.stage], step);
}
