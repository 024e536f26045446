import type { StatementClass } from './split/index.js';
import type { SqlDialect } from './split.js';

/**
 * Follows the transaction state of a task's session the way the server does, so that work counts as
 * done only once it is committed: autocommit on or off (`SET AUTOCOMMIT=0`, which mysqldump and
 * sample data files use for every table), explicit `START TRANSACTION`/`BEGIN` … `COMMIT`/`ROLLBACK`,
 * and MySQL's implicit commits (DDL, `LOCK TABLES`, `SET AUTOCOMMIT=1`, a `BEGIN` inside a
 * transaction). A *unit* is the statements that commit together; a failure resumes at the first
 * statement of the unit it interrupted.
 */
export class UnitTracker {
  readonly #dialect: SqlDialect;
  /** MySQL's session autocommit; PostgreSQL and SQLite have it always on (psql's default). */
  autocommit = true;
  /** Inside an explicit `BEGIN`/`START TRANSACTION`. */
  inTransaction = false;
  /** The first statement of the open (uncommitted) unit, if one is open. */
  unitStart: number | undefined;

  constructor(dialect: SqlDialect, state?: { autocommit?: boolean }) {
    this.#dialect = dialect;
    if (state?.autocommit === false) this.autocommit = false;
  }

  /** The statement the work committed so far ends before: where a resume starts. */
  committedUpTo(next: number): number {
    return this.unitStart ?? next;
  }

  /** How statement `index` relates to the open unit, before it runs. */
  plan(_index: number, c: StatementClass): StatementPlan {
    const open = this.unitStart !== undefined;
    const mysql = this.#dialect === 'mysql';
    const control = c.transactionControl;
    if (control === 'commit' || (mysql && control === 'autocommit-on' && open)) {
      return open ? { kind: 'commits-unit' } : { kind: 'session' };
    }
    if (control === 'rollback') return open ? { kind: 'rolls-back-unit' } : { kind: 'session' };
    if (control === 'begin') {
      // MySQL: BEGIN commits what is open; PostgreSQL warns and stays in the transaction.
      return open && mysql ? { kind: 'commits-before', opensUnit: true } : { kind: 'opens-unit' };
    }
    if (control === 'autocommit-off' || control === 'autocommit-on') return { kind: 'session' };
    if (control === 'savepoint' || control === 'release' || control === 'rollback-to') {
      return open ? { kind: 'in-unit' } : { kind: 'session' };
    }
    if ((mysql && c.commitsImplicitly) || c.noTransactionBlock)
      return { kind: 'commits-before', opensUnit: false };
    if (open || this.inTransaction) return { kind: 'in-unit' };
    // With autocommit off, a statement that only sets the session (SET, USE) starts no
    // transaction: the server opens one at the first statement that touches a table.
    if (!this.autocommit) return sessionOnly(c) ? { kind: 'session' } : { kind: 'in-unit' };
    return { kind: 'alone' };
  }

  /** Statement `index` succeeded: move the state on. */
  ran(index: number, c: StatementClass, plan: StatementPlan): void {
    const control = c.transactionControl;
    switch (plan.kind) {
      case 'commits-unit':
      case 'rolls-back-unit':
        this.unitStart = undefined;
        this.inTransaction = false;
        break;
      case 'opens-unit':
        this.inTransaction = true;
        this.unitStart ??= index;
        break;
      case 'commits-before':
        this.unitStart = plan.opensUnit ? index : undefined;
        this.inTransaction = plan.opensUnit;
        break;
      case 'in-unit':
        this.unitStart ??= index;
        break;
      case 'alone':
      case 'session':
        break;
    }
    if (control === 'autocommit-off') this.autocommit = false;
    if (control === 'autocommit-on') this.autocommit = true;
  }

  /** Statement `index` failed. MySQL's implicit commit before a DDL happened even so. */
  failed(plan: StatementPlan): void {
    if (plan.kind === 'commits-before') this.unitStart = undefined;
  }
}

function sessionOnly(c: StatementClass): boolean {
  return c.keyword === 'USE' || (c.keyword === 'SET' && c.changesSession);
}

/**
 * - `alone`: autocommit and no transaction: the statement commits on its own, so the runner wraps it
 *   in a transaction with its progress row.
 * - `in-unit`: part of an open transaction (or starts one, with autocommit off).
 * - `opens-unit`: `BEGIN`/`START TRANSACTION`.
 * - `commits-unit`: `COMMIT` (or MySQL's `SET AUTOCOMMIT=1`) with work open: progress is written in
 *   the open transaction just before it, and commits with it.
 * - `rolls-back-unit`: `ROLLBACK` with work open.
 * - `commits-before`: MySQL DDL and kin (or a PostgreSQL statement that refuses a transaction
 *   block): what is open commits first, then the statement commits on its own — the one kind that
 *   can be left in doubt by a crash.
 * - `session`: changes only the session (`SET AUTOCOMMIT`, a `COMMIT` with nothing open).
 */
export type StatementPlan =
  | { readonly kind: 'alone' | 'in-unit' | 'opens-unit' | 'commits-unit' | 'rolls-back-unit' | 'session' }
  | { readonly kind: 'commits-before'; readonly opensUnit: boolean };
