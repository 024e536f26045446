import type { Task } from '../release/index.js';
import { classifyStatement, type SqlDialect, type Statement } from './split.js';

/** How a task's statements are made safe to resume. */
export type SqlMode =
  /** All statements in one transaction; with the state in the same database, the success row too. */
  | 'transaction'
  /** Statements auto-commit (MySQL DDL, ClickHouse): progress is recorded per statement. */
  | 'per-statement';

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
export function outsideTransaction(
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
