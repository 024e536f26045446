import type { Knex } from 'knex';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { ClickHouseLike, Connection } from '../migrate/index.js';
import { errorChain } from '../resilience/index.js';

export type Dialect = 'mysql' | 'postgres' | 'sqlite' | 'clickhouse';

function isKnex(connection: Connection): connection is Knex {
  return typeof connection === 'function' && 'client' in connection;
}

/** Which SQL a connection speaks: knex's client name, or ClickHouse for anything else. */
export function dialectOf(connection: Connection): Dialect {
  if (!isKnex(connection)) return 'clickhouse';
  const client = String(connection.client.config.client ?? '');
  if (/sqlite/.test(client)) return 'sqlite';
  if (/pg|postgres/.test(client)) return 'postgres';
  return 'mysql';
}

/** The password of a knex connection's config, so reports can mask it wherever a driver echoes it. */
export function connectionSecrets(connection: Connection): string[] {
  if (!isKnex(connection)) return [];
  const config = connection.client.config.connection as
    | { password?: unknown; connectionString?: unknown }
    | undefined;
  const out: string[] = [];
  if (config && typeof config === 'object') {
    if (typeof config.password === 'string') out.push(config.password);
    if (typeof config.connectionString === 'string') {
      const password = /:\/\/[^:/@]+:([^@]+)@/.exec(config.connectionString)?.[1];
      if (password) out.push(decodeURIComponent(password));
    }
  }
  return out;
}

function rowsOf(result: unknown): Record<string, unknown>[] {
  // mysql2: [rows, fields]; pg: { rows }; sqlite: rows.
  if (Array.isArray(result) && Array.isArray(result[0])) return result[0] as Record<string, unknown>[];
  if (result && typeof result === 'object' && Array.isArray((result as { rows?: unknown }).rows))
    return (result as { rows: Record<string, unknown>[] }).rows;
  if (Array.isArray(result)) return result as Record<string, unknown>[];
  return [];
}

/**
 * Runs one read-only query and returns its rows. Knex queries are cancelled on the server when
 * they overrun (`KILL QUERY`, `pg_cancel_backend`); ClickHouse ones are aborted.
 */
export async function queryRows(
  connection: Connection,
  sql: string,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<Record<string, unknown>[]> {
  options.signal?.throwIfAborted();
  if (isKnex(connection)) {
    const result = await connection.raw(sql).timeout(options.timeoutMs, { cancel: true });
    return rowsOf(result);
  }
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const result = await (connection as ClickHouseLike).query({
      query: sql,
      format: 'JSONEachRow',
      abort_signal: signal,
    });
    return (await result.json()) as Record<string, unknown>[];
  } catch (error) {
    if (timeout.aborted && !options.signal?.aborted) {
      throw new UpgradeKitError(ErrorCodes.TIMEOUT, `query did not finish within ${options.timeoutMs} ms`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** The first column of the first row as a number (ClickHouse returns 64-bit counts as strings). */
export function firstNumber(rows: readonly Record<string, unknown>[]): number | undefined {
  const row = rows[0];
  if (!row) return undefined;
  const value = Object.values(row)[0];
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  if (value === null) return 0;
  return undefined;
}

/** The database the connection points at does not exist (MySQL 1049, PostgreSQL 3D000, ClickHouse 81). */
export function isMissingDatabase(error: unknown): boolean {
  return errorChain(error).some((e) => {
    if (!e || typeof e !== 'object') return false;
    const { code, errno, type, message } = e as {
      code?: unknown;
      errno?: unknown;
      type?: unknown;
      message?: unknown;
    };
    if (code === 'ER_BAD_DB_ERROR' || errno === 1049 || code === '3D000') return true;
    if (code === '81' || code === 81 || type === 'UNKNOWN_DATABASE') return true;
    return (
      typeof message === 'string' &&
      /unknown database|database "[^"]*" does not exist|UNKNOWN_DATABASE|Code: 81\b.*Database \S+ doesn't exist/i.test(
        message,
      )
    );
  });
}

/** The query ran past its timeout (knex's own or ours). */
export function isQueryTimeout(error: unknown): boolean {
  return errorChain(error).some(
    (e) =>
      e instanceof Error &&
      (e.name === 'KnexTimeoutError' || (e instanceof UpgradeKitError && e.code === ErrorCodes.TIMEOUT)),
  );
}
