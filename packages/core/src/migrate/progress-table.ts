import type { Knex } from 'knex';
import type { MarkerKey } from './marker.js';
import type { StatementProgress } from './progress.js';
import { ensureRunnerTable } from './runner-table.js';
import type { TaskSession } from './session.js';

/**
 * Statement-by-statement progress kept in the *target* database, written on the task's own session
 * so it commits in the same transaction as the work it describes (the file's COMMIT, or the
 * transaction the runner wraps around a statement that would autocommit): after a crash, what it
 * says is exactly what committed — for everything but a statement that commits on its own (MySQL
 * DDL), which is marked `started` first and settled as in doubt.
 */
export const PROGRESS_TABLE = 'upgradekit_progress';

/** Creates the table once per connection and schema, through the pool (never the task's session). */
export function ensureProgressTable(knex: Knex, schema: string | undefined): Promise<void> {
  return ensureRunnerTable(knex, schema, PROGRESS_TABLE, (t) => {
    t.string('component', 128).notNullable();
    t.string('task_version', 64).notNullable();
    t.string('task_id', 191).notNullable();
    t.text('progress').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['component', 'task_version', 'task_id']);
  });
}

/** The runner's own SQL for the progress row, qualified with the schema the session started in. */
export class ProgressRow {
  readonly #session: TaskSession;
  readonly #table: string;
  readonly #key: MarkerKey;

  constructor(session: TaskSession, key: MarkerKey) {
    this.#session = session;
    this.#key = key;
    const q =
      session.dialect === 'mysql'
        ? (n: string) => `\`${n.replace(/`/g, '``')}\``
        : (n: string) => `"${n.replace(/"/g, '""')}"`;
    this.#table = session.schema ? `${q(session.schema)}.${q(PROGRESS_TABLE)}` : q(PROGRESS_TABLE);
  }

  async read(): Promise<string | undefined> {
    try {
      const rows = (await this.#session.query(
        `SELECT progress FROM ${this.#table} WHERE ${this.#where()}`,
      )) as Array<{ progress: string }>;
      return rows[0]?.progress;
    } catch (error) {
      if (missing(error)) return undefined;
      throw error;
    }
  }

  /** Upserts on the session: inside whatever transaction is open there, or on its own. */
  async write(progress: StatementProgress): Promise<void> {
    // A file that ran SET ROLE may have left a role without rights on the runner's table: the row
    // is written as the datasource's user, and the file's role put back (all in its transaction).
    const role = this.#session.dialect === 'postgres' ? progress.session?.role : undefined;
    if (role) await this.#session.query('RESET ROLE');
    try {
      await this.#write(progress);
    } finally {
      if (role) await this.#session.query(`SET ROLE "${role.replace(/"/g, '""')}"`);
    }
  }

  async #write(progress: StatementProgress): Promise<void> {
    const literal = this.#literal;
    const text = literal(JSON.stringify(progress));
    const now = Date.now();
    const { component, task_version, task_id } = this.#key;
    const values = `${literal(component)}, ${literal(task_version)}, ${literal(task_id)}, ${text}, ${now}`;
    const columns = '(component, task_version, task_id, progress, updated_at)';
    const sql =
      this.#session.dialect === 'mysql'
        ? `INSERT INTO ${this.#table} ${columns} VALUES (${values}) ON DUPLICATE KEY UPDATE progress = VALUES(progress), updated_at = VALUES(updated_at)`
        : `INSERT INTO ${this.#table} ${columns} VALUES (${values}) ON CONFLICT (component, task_version, task_id) DO UPDATE SET progress = excluded.progress, updated_at = excluded.updated_at`;
    try {
      await this.#session.query(sql);
    } catch (error) {
      // A file that drops and recreates its own database (sample dumps do) takes the table with it:
      // make it again where it can be; with the database itself gone, the state store's copy is all.
      if (missingDatabase(error)) return;
      if (!missing(error)) throw error;
      try {
        await this.#session.query(this.#createSql());
      } catch (again) {
        // MariaDB says "no such table" for a table of a database that is gone, too.
        if (missingDatabase(again)) return;
        throw again;
      }
      await this.#session.query(sql);
    }
  }

  async remove(): Promise<void> {
    await this.#session.query(`DELETE FROM ${this.#table} WHERE ${this.#where()}`).catch((error: unknown) => {
      if (!missing(error)) throw error;
    });
  }

  #createSql(): string {
    const text = this.#session.dialect === 'mysql' ? 'LONGTEXT' : 'TEXT';
    return `CREATE TABLE IF NOT EXISTS ${this.#table} (component VARCHAR(128) NOT NULL, task_version VARCHAR(64) NOT NULL, task_id VARCHAR(191) NOT NULL, progress ${text} NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (component, task_version, task_id))`;
  }

  #where(): string {
    const literal = this.#literal;
    const { component, task_version, task_id } = this.#key;
    return `component = ${literal(component)} AND task_version = ${literal(task_version)} AND task_id = ${literal(task_id)}`;
  }
  /**
   * Text as a hex literal: the file may have set NO_BACKSLASH_ESCAPES, ANSI_QUOTES or
   * standard_conforming_strings = off, and none of them changes how hex reads.
   */
  readonly #literal = (text: string): string => {
    const hex = Buffer.from(text, 'utf8').toString('hex');
    if (this.#session.dialect === 'mysql') return `CONVERT(X'${hex}' USING utf8mb4)`;
    if (this.#session.dialect === 'postgres') return `convert_from(decode('${hex}', 'hex'), 'UTF8')`;
    return `CAST(X'${hex}' AS TEXT)`;
  };
}

function codeOf(error: unknown): string {
  return String((error as { code?: unknown })?.code ?? '');
}

/** The table (or the database holding it) is not there. */
function missing(error: unknown): boolean {
  return ['ER_NO_SUCH_TABLE', '42P01', 'SQLITE_ERROR'].includes(codeOf(error)) || missingDatabase(error);
}

function missingDatabase(error: unknown): boolean {
  return ['ER_BAD_DB_ERROR', '3F000'].includes(codeOf(error));
}
