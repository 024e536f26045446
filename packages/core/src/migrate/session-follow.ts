import type { TaskSession } from './session.js';
import {
  assignedSessionVariables,
  assignedUserVariables,
  type Baseline,
  capture,
  type SessionState,
} from './session-state.js';
import type { SqlDialect, Statement, StatementClass } from './split.js';

const TEMPORARY =
  /^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:GLOBAL\s+|LOCAL\s+)?TEMP(?:ORARY)?\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([`"]?[\w$.]+[`"]?)/i;
const PREPARE = /^\s*PREPARE\s+`?(\w+)`?\s+FROM\b/i;
const DEALLOCATE = /^\s*(?:DEALLOCATE|DROP)\s+PREPARE\s+`?(\w+)`?/i;
const DROP_TABLE = /^\s*DROP\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+EXISTS\s+)?([\s\S]+)$/i;

/**
 * What a file's statements did to their session, followed statement by statement so that a resume
 * can rebuild it by value: the user and session variables it assigned, the LOCK TABLES it holds,
 * and what a new session cannot have back (a temporary table, a prepared statement).
 */
export class SessionFollower {
  readonly #userVariables: Set<string>;
  readonly #sessionVariables: Set<string>;
  readonly #temporary = new Map<string, string>();
  /** The LOCK TABLES statement in force, if any. */
  locks: string | undefined;

  constructor(
    private readonly dialect: SqlDialect,
    private readonly file: string,
    saved: SessionState | undefined,
  ) {
    this.#userVariables = new Set(Object.keys(saved?.user ?? {}));
    this.#sessionVariables = new Set(Object.keys(saved?.variables ?? {}));
    this.locks = saved?.locks;
  }

  follow(statement: Statement, c: StatementClass): void {
    if (this.dialect !== 'mysql') return;
    for (const name of assignedUserVariables(statement.sql)) this.#userVariables.add(name);
    for (const name of assignedSessionVariables(statement.sql)) this.#sessionVariables.add(name);
    if (c.keyword === 'LOCK' || /^\s*\/\*!\d*\s*LOCK\s+TABLES/i.test(statement.sql))
      this.locks = statement.sql;
    if (c.keyword === 'UNLOCK' || /^\s*\/\*!\d*\s*UNLOCK\s+TABLES/i.test(statement.sql))
      this.locks = undefined;
    const created = TEMPORARY.exec(statement.sql);
    if (created?.[1]) {
      const name = created[1].replace(/[`"]/g, '');
      this.#temporary.set(name, `the temporary table ${name} (created at ${this.file}:${statement.line})`);
    }
    const prepared = PREPARE.exec(statement.sql);
    if (prepared?.[1]) {
      this.#temporary.set(
        `prepare:${prepared[1]}`,
        `the prepared statement ${prepared[1]} (${this.file}:${statement.line})`,
      );
    }
    const deallocated = DEALLOCATE.exec(statement.sql);
    if (deallocated?.[1]) this.#temporary.delete(`prepare:${deallocated[1]}`);
    const dropped = DROP_TABLE.exec(statement.sql);
    if (dropped?.[1])
      for (const name of dropped[1].split(',')) this.#temporary.delete(name.trim().replace(/[`"]/g, ''));
  }

  /** Whether the statement may have changed what a resume must rebuild (`onKnex`: a knex target). */
  needsCapture(c: StatementClass, statement: Statement, onKnex: boolean): boolean {
    if (this.dialect === 'clickhouse') return c.keyword === 'USE' || c.keyword === 'SET';
    if (!onKnex) return false;
    return (
      c.changesSession ||
      c.keyword === 'USE' ||
      c.transactionControl === 'autocommit-off' ||
      c.transactionControl === 'autocommit-on' ||
      // SET LOCAL (and a SET a ROLLBACK undoes) ends with the transaction.
      c.transactionControl === 'commit' ||
      c.transactionControl === 'rollback' ||
      c.transactionControl === 'rollback-to' ||
      assignedUserVariables(statement.sql).length > 0 ||
      /LOCK\s+TABLES|TEMPORARY/i.test(statement.sql) ||
      // Dropping the current database leaves the session without one.
      /^\s*DROP\s+(DATABASE|SCHEMA)\b/i.test(statement.sql)
    );
  }

  /** The session as it is now, by value. */
  capture(session: TaskSession, base: Baseline): Promise<SessionState> {
    const [what] = [...this.#temporary.values()];
    return capture(
      session,
      base,
      this.#userVariables,
      this.locks,
      what ? `${what} is gone with the old session` : undefined,
      this.#sessionVariables,
    );
  }
}
