import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { Connection } from '../migrate/index.js';
import { poolRows } from '../migrate/internal.js';
import { errorChain } from '../resilience/internal.js';

export type Dialect = 'mysql' | 'postgres' | 'sqlite' | 'clickhouse';

export { dialectOf } from '../migrate/internal.js';

/** The password of a knex connection's config, so reports can mask it wherever a driver echoes it. */
export function connectionSecrets(connection: Connection): string[] {
  if (typeof connection !== 'function' || !('client' in connection)) return [];
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

/**
 * Runs one read-only query and returns its rows, through the raw driver (a release's check text
 * reaches the server as written: no `?` rewriting). A query past `timeoutMs` is cancelled on the
 * server (`KILL QUERY`, `pg_cancel_backend`, an aborted ClickHouse request) and fails as a timeout.
 */
export async function queryRows(
  connection: Connection,
  sql: string,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<Record<string, unknown>[]> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    return await poolRows(connection, sql, { signal });
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
