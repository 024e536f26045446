// What a cancelled SQL task did, in the words the operator acts on. A cancel (Ctrl-C, SIGTERM, a
// lost lock) stops a task before its next commit and asks the server to stop the running
// statement; these say truthfully what is committed, what was rolled back, and what is in doubt.
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { Task } from '../release/index.js';
import type { SqlDialect, Statement } from './split.js';

/** The cancel came before the statement was sent: it never ran. */
export class NotSent extends Error {
  override name = 'NotSent';
}

/**
 * The server answered the statement with an error of its own (e.g. MariaDB 1317 "Query execution
 * was interrupted", PostgreSQL 57014 "canceling statement due to user request"): it handled the
 * statement and says it did not complete. A lost connection is no answer: the statement may have
 * finished on the server.
 */
export function answeredByServer(error: unknown, dialect: SqlDialect): boolean {
  for (let e = error as Record<string, unknown> | undefined, depth = 0; e && depth < 5; depth++) {
    if (e instanceof NotSent) return true;
    if (dialect === 'mysql' && typeof e.errno === 'number' && e.fatal !== true) return true;
    if (dialect === 'postgres' && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) {
      // 57P01–57P03: the server shut the connection; the statement's fate is not its answer.
      return !/^57P0/.test(e.code);
    }
    if (dialect === 'sqlite' && typeof e.code === 'string' && e.code.startsWith('SQLITE_')) return true;
    e = e.cause as Record<string, unknown> | undefined;
  }
  return false;
}

export interface CancelPlace {
  readonly task: Task;
  readonly file: string;
  readonly statements: readonly Statement[];
}

/** "statement 3 of 10 (file.sql:12)": how every message names a statement. */
export function where(p: CancelPlace, k: number): string {
  return `statement ${k + 1} of ${p.statements.length} (${p.file}:${p.statements[k]?.line ?? '?'})`;
}

function committed(p: CancelPlace, next: number): string {
  if (next <= 0) return `nothing of task ${p.task.id} was committed`;
  return next === 1 ? 'statement 1 is committed' : `statements 1–${next} are committed`;
}

/** The engine that commits a statement on its own, as messages name it. */
export function engineOf(dialect: SqlDialect): string {
  if (dialect === 'clickhouse') return 'ClickHouse';
  if (dialect === 'postgres') return 'PostgreSQL (outside a transaction block)';
  return 'MySQL/MariaDB';
}

/** A transaction-mode task stopped before its COMMIT: nothing of it is in the database. */
export function transactionRolledBack(p: CancelPlace, running: number | undefined): UpgradeKitError {
  const during =
    running === undefined ? '' : `; ${where(p, running)} was running and was stopped on the server`;
  return new UpgradeKitError(
    ErrorCodes.ABORTED,
    `rolled back: nothing of task ${p.task.id} was committed${during}; the next run runs it again`,
    {
      context: {
        task: p.task.id,
        file: p.file,
        outcome: 'rolled-back',
        ...(running === undefined ? {} : { statement: running + 1, line: p.statements[running]?.line }),
      },
    },
  );
}

/** The COMMIT itself failed as the cancel came: the marker row, committed with the work, tells. */
export function commitInDoubt(p: CancelPlace, error: unknown): UpgradeKitError {
  return new UpgradeKitError(
    ErrorCodes.ABORTED,
    `in doubt: the COMMIT of task ${p.task.id} was under way when the run was cancelled (${error instanceof Error ? error.message : String(error)}); the next run checks its marker row in upgradekit_applied to know whether it was applied`,
    { cause: error, context: { task: p.task.id, file: p.file, outcome: 'in-doubt' } },
  );
}

/**
 * A statement-by-statement task stopped at statement `k` with everything before `resumeAt`
 * committed and the rest rolled back: `k` was cancelled on the server (`sent`) or never sent.
 */
export function statementsStopped(
  p: CancelPlace,
  resumeAt: number,
  k: number,
  sent: boolean,
): UpgradeKitError {
  const parts = [
    sent
      ? `rolled back: ${where(p, k)} was stopped on the server before it took effect`
      : `stopped before ${where(p, k)}`,
    ...(resumeAt < k ? [`the transaction the file opened at ${where(p, resumeAt)} was rolled back`] : []),
    committed(p, resumeAt),
    `the next run resumes at statement ${resumeAt + 1}`,
  ];
  return new UpgradeKitError(ErrorCodes.ABORTED, parts.join('; '), {
    context: {
      task: p.task.id,
      file: p.file,
      outcome: 'rolled-back',
      next: resumeAt + 1,
      ...(sent ? { statement: k + 1, line: p.statements[k]?.line } : {}),
    },
  });
}

/** A statement that commits on its own was running and its outcome is unknown. */
export function statementInDoubt(
  p: CancelPlace,
  k: number,
  dialect: SqlDialect,
  why: string,
): UpgradeKitError {
  return new UpgradeKitError(
    ErrorCodes.ABORTED,
    `in doubt: ${where(p, k)} may have been applied: it was running when the run was cancelled, ${engineOf(dialect)} commits it on its own, and ${why}. ${committed(p, k)}; ${p.task.idempotent ? 'the task is idempotent: the next run runs the statement again' : 'the next run stops at it until you resolve the task (applied or retry)'}`,
    {
      context: {
        task: p.task.id,
        file: p.file,
        outcome: 'in-doubt',
        statement: k + 1,
        line: p.statements[k]?.line,
      },
    },
  );
}

/** What a second Ctrl-C leaves, while statement `k` runs (`ctx.inFlight`). */
export function statementAtStake(
  p: CancelPlace,
  k: number,
  commitsOnItsOwn: boolean,
  dialect: SqlDialect,
): string {
  if (!commitsOnItsOwn) {
    return `${where(p, k)} is running in a transaction: the server rolls it back when the connection closes; the next run resumes after the last committed statement`;
  }
  return `${where(p, k)} is running and ${engineOf(dialect)} commits it on its own: in doubt, it may be applied (the server may still be running it); ${p.task.idempotent ? 'the task is idempotent: the next run runs it again' : 'the next run stops at it until you resolve the task (applied or retry)'}`;
}

/** What a second Ctrl-C leaves between two statements (`ctx.inFlight`). */
export const BETWEEN_STATEMENTS =
  'between two statements: nothing of it is running on the server; the next run resumes from its saved progress';
