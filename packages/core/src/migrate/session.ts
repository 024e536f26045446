import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { SqlDialect, Statement } from './split.js';

/** The part of `@clickhouse/client` we use; any object with `command` and `query` will do. */
export interface ClickHouseLike {
  command(params: {
    query: string;
    abort_signal?: AbortSignal;
    session_id?: string;
    query_id?: string;
    clickhouse_settings?: Record<string, unknown>;
  }): Promise<unknown>;
  query(params: {
    query: string;
    format?: string;
    abort_signal?: AbortSignal;
    session_id?: string;
    query_id?: string;
    clickhouse_settings?: Record<string, unknown>;
  }): Promise<{ json(): Promise<unknown> }>;
}

export type Connection = Knex | ClickHouseLike;

export function isKnex(connection: Connection): connection is Knex {
  return typeof connection === 'function' && 'client' in connection;
}

export function dialectOf(connection: Connection): SqlDialect {
  if (!isKnex(connection)) return 'clickhouse';
  const client = String(connection.client.config.client ?? '');
  if (/sqlite/.test(client)) return 'sqlite';
  if (/pg|postgres/.test(client)) return 'postgres';
  return 'mysql';
}

/**
 * One task's own session on its datasource, as the database's own client would have it: a raw
 * driver connection that the task has from its first statement to its last and that nobody else
 * uses, so what a file sets (`USE`, `SET sql_mode`, `SET search_path`, `@variables`) stays with the
 * file and never leaks into the next task. SQL goes to the server byte for byte: no bindings, no
 * `?` rewriting, as `mariadb`/`psql` send it.
 */
export interface TaskSession {
  readonly dialect: SqlDialect;
  /**
   * The database (MySQL) or schema (PostgreSQL) the session started in, before the file could change
   * it with `USE` or `search_path`: where the runner's own rows go.
   */
  readonly schema: string | undefined;
  /**
   * Puts back the current database / `search_path` the session started with, so knex-written rows
   * (unqualified) land where they belong. Only used after the file's last statement.
   */
  restore(): Promise<void>;
  /** Asks the server to stop the running statement (`KILL QUERY`, `pg_cancel_backend`). */
  cancel(): Promise<void>;
  /** Runs one statement as it is (a COPY … FROM stdin streams its data). */
  execute(statement: Pick<Statement, 'sql' | 'copyData'>): Promise<unknown>;
  /** Runs SQL the runner wrote itself (no user text in it). */
  query(sql: string): Promise<unknown[]>;
  /**
   * Runs `work` in a knex transaction on this very connection, so that knex-written rows (the state
   * store's success row) commit with the statements. Absent for ClickHouse.
   */
  transaction?<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
  /** Closes the session; `abandon` drops the connection at once (a statement may still be running). */
  close(abandon?: boolean): Promise<void>;
  /** ClickHouse: every statement's `query_id` starts with it, so a resume can find one still running. */
  readonly queryIdPrefix?: string;
}

export interface SessionOptions {
  /** Share the knex pool's connection instead of a fresh one (SQLite holding the state: one writer). */
  readonly shared?: boolean;
}

type MysqlConnection = {
  query(sql: string, callback: (error: Error | null, result: unknown) => void): void;
  end(callback: (error?: Error | null) => void): void;
  destroy(): void;
  on(event: 'error', listener: (error: Error) => void): void;
};
type PgClient = {
  query(sql: string): Promise<{ rows: unknown[]; rowCount: number | null }>;
  query<T>(stream: T): T;
  end(): Promise<void>;
  connection?: { stream?: { destroy(): void } };
};
type SqliteDatabase = {
  prepare(sql: string): { reader: boolean; all(): unknown[]; run(): unknown };
  close(): void;
};
type KnexClientInternals = {
  driver: { createConnection(settings: Record<string, unknown>): MysqlConnection };
  connectionSettings: Record<string, unknown>;
  connectionConfigProvider?: () => Promise<Record<string, unknown>> | Record<string, unknown>;
  acquireRawConnection(): Promise<unknown>;
  destroyRawConnection(connection: unknown): Promise<void>;
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<void>;
  cancelQuery?(connection: unknown): Promise<void>;
};

/** Opens a task's session. */
export async function openSession(
  connection: Connection,
  options: SessionOptions = {},
): Promise<TaskSession> {
  if (!isKnex(connection)) return clickhouseSession(connection);
  const dialect = dialectOf(connection);
  if (dialect === 'mysql') return mysqlSession(connection);
  if (dialect === 'postgres') return postgresSession(connection);
  return sqliteSession(connection, options.shared === true);
}

function clientOf(knex: Knex): KnexClientInternals {
  return knex.client as unknown as KnexClientInternals;
}

function inTransaction(knex: Knex, raw: unknown) {
  return <T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T> =>
    // knex leaves a connection it was given open: the session closes it.
    knex.transaction(work, { connection: raw } as Knex.TransactionConfig);
}

// mysql2 adds IGNORE_SPACE to the session's sql_mode through a client flag (so `count (i INT)` is
// a syntax error and every routine stores IGNORE_SPACE), and negotiates utf8mb4_unicode_ci. The
// `mariadb --default-character-set=utf8mb4` client does neither: the server's sql_mode and
// utf8mb4's default collation. A `charset` in the connection settings still wins.
const MYSQL_FLAGS = '-IGNORE_SPACE';
const MYSQL_CHARSET = 'UTF8MB4_GENERAL_CI';

async function mysqlSession(knex: Knex): Promise<TaskSession> {
  const client = clientOf(knex);
  const source = client.connectionConfigProvider
    ? await client.connectionConfigProvider()
    : client.connectionSettings;
  // knex keeps the password as a hidden (non-enumerable) property: a spread would drop it.
  const settings: Record<string, unknown> = { ...source, password: source.password };
  if (settings.password === undefined) delete settings.password;
  delete settings.expirationChecker;
  const flags = [settings.flags, MYSQL_FLAGS].filter((f) => f !== undefined && f !== '').join(',');
  const connect = async (options: Record<string, unknown>) => {
    const raw = client.driver.createConnection({
      ...options,
      flags,
      charset: settings.charset ?? MYSQL_CHARSET,
    });
    // A connection dropped by the server surfaces as the failing query's error; this keeps it from
    // also becoming an unhandled 'error' event.
    raw.on('error', () => {});
    const query = (sql: string) =>
      new Promise<unknown>((resolve, reject) => {
        raw.query(sql, (error, result) => (error ? reject(error) : resolve(result)));
      });
    const [row] = (await query('SELECT DATABASE() AS db, CONNECTION_ID() AS id')) as Array<{
      db: string | null;
      id: number;
    }>;
    return { raw, query, row };
  };
  let opened: Awaited<ReturnType<typeof connect>>;
  try {
    opened = await connect(settings);
  } catch (error) {
    // A file that drops its own database (`DROP SCHEMA IF EXISTS shop; CREATE SCHEMA shop;`) and
    // failed in between is resumed where its session was: connected, with no current database.
    if ((error as { code?: unknown }).code !== 'ER_BAD_DB_ERROR' || typeof settings.database !== 'string')
      throw error;
    const { database: _dropped, ...rest } = settings;
    opened = await connect(rest);
  }
  const { raw, query, row } = opened;
  const database = row?.db ?? (typeof settings.database === 'string' ? settings.database : undefined);
  const quote = (name: string) => `\`${name.replace(/`/g, '``')}\``;
  return {
    dialect: 'mysql',
    schema: database,
    restore: async () => {
      if (database) await query(`USE ${quote(database)}`);
    },
    cancel: () => cancelOn(knex, `KILL QUERY ${Number(row?.id)}`),
    execute: (statement) => query(statement.sql),
    query: async (sql) => (await query(sql)) as unknown[],
    transaction: inTransaction(knex, raw),
    close: (abandon) => {
      if (abandon) {
        raw.destroy();
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => raw.end(() => resolve()));
    },
  };
}

async function postgresSession(knex: Knex): Promise<TaskSession> {
  const client = clientOf(knex);
  const raw = (await client.acquireRawConnection()) as PgClient;
  const { rows } = await raw.query(
    "SELECT current_schema() AS schema, current_setting('search_path') AS path, pg_backend_pid() AS pid",
  );
  const start = rows[0] as { schema: string | null; path: string; pid: number };
  const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;
  return {
    dialect: 'postgres',
    schema: start.schema ?? undefined,
    restore: async () => {
      await raw.query(`SELECT pg_catalog.set_config('search_path', ${literal(start.path)}, false)`);
      // The runner's rows are written as the datasource's user, not a role the file switched to.
      await raw.query('RESET ROLE');
    },
    cancel: () => cancelOn(knex, `SELECT pg_cancel_backend(${Number(start.pid)})`),
    execute: async (statement) => {
      if (statement.copyData === undefined) return raw.query(statement.sql);
      return copyFromStdin(raw, statement.sql, statement.copyData);
    },
    query: async (sql) => (await raw.query(sql)).rows,
    transaction: inTransaction(knex, raw),
    close: async (abandon) => {
      if (abandon) {
        raw.connection?.stream?.destroy();
        return;
      }
      await client.destroyRawConnection(raw).catch(() => {});
    },
  };
}

/** Runs a cancel statement from another connection of the knex pool; a failure only means it ended. */
async function cancelOn(knex: Knex, sql: string): Promise<void> {
  await knex.raw(sql).catch(() => {});
}

/** `COPY … FROM stdin` with the rows that followed it in the file, streamed as psql streams them. */
async function copyFromStdin(raw: PgClient, sql: string, data: string): Promise<{ rowCount: number }> {
  const { from } = await import('pg-copy-streams');
  const stream = raw.query(from(sql));
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    stream.on('finish', () => resolve());
    stream.end(data.length === 0 || data.endsWith('\n') ? data : `${data}\n`);
  });
  return { rowCount: Number((stream as unknown as { rowCount?: number }).rowCount ?? 0) };
}

async function sqliteSession(knex: Knex, shared: boolean): Promise<TaskSession> {
  const client = clientOf(knex);
  // SQLite has one writer per file. When the state lives in the same file, a second connection
  // holding the task's write lock would block the state's own writes (heartbeats): share the pool's.
  const raw = (
    shared ? await client.acquireConnection() : await client.acquireRawConnection()
  ) as SqliteDatabase;
  const run = (sql: string) => {
    const statement = raw.prepare(sql);
    return statement.reader ? statement.all() : statement.run();
  };
  return {
    dialect: 'sqlite',
    schema: undefined,
    restore: async () => {},
    // better-sqlite3 runs statements synchronously: there is nothing in flight to cancel.
    cancel: async () => {},
    execute: async (statement) => run(statement.sql),
    query: async (sql) => {
      const statement = raw.prepare(sql);
      if (statement.reader) return statement.all();
      statement.run();
      return [];
    },
    transaction: inTransaction(knex, raw),
    close: async () => {
      if (shared) await client.releaseConnection(raw);
      else await client.destroyRawConnection(raw).catch(() => {});
    },
  };
}

function clickhouseSession(client: ClickHouseLike): TaskSession {
  // An HTTP session keeps what the file SETs for its later statements, as clickhouse-client does.
  const sessionId = `upgradekit-${randomUUID()}`;
  const queryIdPrefix = `${sessionId}-q`;
  let queries = 0;
  let running: AbortController | undefined;
  return {
    dialect: 'clickhouse',
    schema: undefined,
    queryIdPrefix,
    restore: async () => {},
    // Aborting the HTTP request makes the server cancel the query (cancel_http_readonly_queries
    // aside, which only concerns reads).
    cancel: async () => running?.abort(),
    execute: async (statement) => {
      running = new AbortController();
      try {
        return await client.command({
          query: statement.sql,
          session_id: sessionId,
          query_id: `${queryIdPrefix}${++queries}`,
          abort_signal: running.signal,
          // What a resume reads back when this statement is left in doubt (servers before 21.x
          // log nothing by default).
          clickhouse_settings: { log_queries: 1 },
        });
      } finally {
        running = undefined;
      }
    },
    query: async (sql) => {
      const result = (await (
        await client.query({
          query: sql,
          format: 'JSONEachRow',
          session_id: sessionId,
          query_id: `${queryIdPrefix}${++queries}`,
          clickhouse_settings: { log_queries: 1 },
        })
      ).json()) as unknown;
      return Array.isArray(result) ? result : [];
    },
    close: async () => {},
  };
}

/**
 * Runs a query the release declares (a `check`, an estimate's `query`, an assessment's data-quality
 * check) on a pooled connection through the raw driver — never through knex's bindings, which
 * would rewrite a `?` in the text — and returns its rows. An abort or `timeoutMs` cancels it on
 * the server (`KILL QUERY`, `pg_cancel_backend`, an aborted HTTP request).
 */
export async function poolRows(
  connection: Connection,
  sql: string,
  options: { readonly signal?: AbortSignal; readonly timeoutMs?: number } = {},
): Promise<Record<string, unknown>[]> {
  options.signal?.throwIfAborted();
  const timeout = options.timeoutMs !== undefined ? AbortSignal.timeout(options.timeoutMs) : undefined;
  const signals = [options.signal, timeout].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length > 0 ? AbortSignal.any(signals) : undefined;
  if (!isKnex(connection)) {
    const result = await connection.query({
      query: sql,
      format: 'JSONEachRow',
      ...(signal ? { abort_signal: signal } : {}),
    });
    return (await result.json()) as Record<string, unknown>[];
  }
  const client = clientOf(connection);
  const dialect = dialectOf(connection);
  const raw = await client.acquireConnection();
  const onAbort = () => void client.cancelQuery?.(raw).catch(() => {});
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (dialect === 'postgres') return (await (raw as PgClient).query(sql)).rows as Record<string, unknown>[];
    if (dialect === 'sqlite') return (raw as SqliteDatabase).prepare(sql).all() as Record<string, unknown>[];
    const rows = await new Promise<unknown>((resolve, reject) =>
      (raw as MysqlConnection).query(sql, (error, result) => (error ? reject(error) : resolve(result))),
    );
    return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await client.releaseConnection(raw);
  }
}

/** The first column of the first row of {@link poolRows}. */
export async function poolQuery(connection: Connection, sql: string): Promise<unknown> {
  const [row] = await poolRows(connection, sql);
  return row ? Object.values(row)[0] : undefined;
}
