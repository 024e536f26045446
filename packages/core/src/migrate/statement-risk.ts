// What an interrupted statement leaves behind, by what the runner can see of it: whether it commits
// on its own, whether the classifier can see into it at all, and whether a cancel's answer proves
// it did not take effect.
import { answeredByServer } from './cancel.js';
import type { SqlDialect, Statement, StatementClass } from './split.js';
import type { StatementPlan } from './units.js';

/** Marked `started` before it runs: it commits by itself, so a crash while it runs leaves it in doubt. */
export function commitsOnItsOwn(plan: StatementPlan): boolean {
  return plan.kind === 'commits-before' && !('opensUnit' in plan && plan.opensUnit);
}

/**
 * What the classifier cannot see into — a prepared statement, a procedure, a compound block,
 * autocommit set from a variable; PostgreSQL's CALL and DO, which may COMMIT and so refuse the
 * runner's own BEGIN.
 */
export function opaqueStatement(statement: Statement, c: StatementClass, dialect: SqlDialect): boolean {
  if (dialect === 'postgres') return c.keyword === 'CALL' || c.keyword === 'DO';
  if (dialect !== 'mysql') return false;
  return (
    c.keyword === 'EXECUTE' ||
    c.keyword === 'CALL' ||
    /^\s*BEGIN\s+NOT\s+ATOMIC\b/i.test(statement.sql) ||
    /\bautocommit\s*:?=\s*[@(]/i.test(statement.sql)
  );
}

/**
 * Whether the server's answer to a cancelled statement that commits on its own proves it did not
 * take effect: MariaDB/MySQL roll back an interrupted DDL statement (atomic DDL). A procedure or
 * prepared statement may have committed part of its work; PostgreSQL's statements outside a
 * transaction block (CREATE INDEX CONCURRENTLY leaves an invalid index) and ClickHouse's
 * (mutations go on) may not be undone by a cancel.
 */
export function cancelSettles(
  statement: Statement,
  c: StatementClass,
  dialect: SqlDialect,
  error: unknown,
): boolean {
  return dialect === 'mysql' && !opaqueStatement(statement, c, dialect) && answeredByServer(error, dialect);
}

/** Why a cancelled statement that commits on its own is in doubt (when `cancelSettles` is false). */
export function whyInDoubt(
  statement: Statement,
  c: StatementClass,
  dialect: SqlDialect,
  error: unknown,
): string {
  if (!answeredByServer(error, dialect)) return 'the server gave no answer that it stopped it';
  if (dialect === 'postgres')
    return 'cancelled there, it may leave part of its work behind (CREATE INDEX CONCURRENTLY leaves an invalid index)';
  if (dialect === 'clickhouse')
    return 'ClickHouse may go on with its work (a mutation) after the query is cancelled';
  return opaqueStatement(statement, c, dialect)
    ? 'a procedure or prepared statement may have committed part of its work before it was stopped'
    : 'the server stopped it, but not before it may have taken effect';
}
