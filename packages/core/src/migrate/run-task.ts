import { relative } from 'node:path';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { ResolveDecision, StepContext, StepDefinition } from '../model/index.js';
import type { Release, Task } from '../release/index.js';
import { refuseIneffectiveUse } from './clickhouse-use.js';
import { type EstimateTracking, trackEstimate } from './estimate.js';
import { markerPresent } from './marker.js';
import {
  describeStatementProgress,
  parseProgress,
  resolveStatementProgress,
  statementInDoubt,
} from './progress.js';
import { readSqlText } from './read-sql.js';
import { runStatements } from './run-statements.js';
import { runTransaction } from './run-transaction.js';
import { type Connection, dialectOf, isKnex, poolQuery } from './session.js';
import { applyPlaceholders, classifyStatement, splitStatements } from './split.js';
import { statementExecutor, type TaskFile } from './task-file.js';
import { outsideTransaction, type SqlMode } from './transaction-mode.js';

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

  const execute = statementExecutor(task, file, statements, dialect);

  const marker = { component: options.release.component, task_version: task.version, task_id: task.id };
  const input: TaskFile = { task, file, dialect, connection, statements, key: marker, execute, track };

  const classes = statements.map((st) => classifyStatement(st.sql, dialect));
  const uses = dialect === 'clickhouse' ? statements.filter((_, k) => classes[k]?.keyword === 'USE') : [];
  const runPerStatement = async (ctx: StepContext) => {
    if (uses.length > 0) await refuseIneffectiveUse(connection, task, file, uses);
    return runStatements(ctx, {
      ...(options.killInDoubt ? { killInDoubt: true } : {}),
      ...input,
      classes,
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
        ? runTransaction(ctx, input)
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
