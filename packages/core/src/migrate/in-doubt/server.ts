import type { TaskSession } from '../session.js';

/**
 * Which server, and which of its connections, ran a statement: saved with the statement's
 * `started` mark so that a resume can ask that server whether the statement is still running. A
 * killed client's statement goes on on the server until it ends (the server notices the client is
 * gone only when it next writes to it); deciding before then decides on a moving target.
 */
export interface ServerMark {
  /** `@@hostname:@@port` (MySQL), `inet_server_addr():port` (PostgreSQL), `hostName()` (ClickHouse). */
  readonly server: string;
  /** When that server started, epoch seconds: a restarted server has none of the old connections. */
  readonly since: number;
  /** `CONNECTION_ID()`, `pg_backend_pid()`, or the ClickHouse session's query-id prefix. */
  readonly conn: string;
}

// Uptime is whole seconds: two readings of "now − uptime" may differ by one.
const SINCE_SLACK_S = 3;

/** The mark of the session's own connection (undefined on SQLite, which has no server). */
export async function serverMark(session: TaskSession): Promise<ServerMark | undefined> {
  if (session.dialect === 'mysql') {
    const [row] = (await session.query(
      "SELECT CONNECTION_ID() AS c, CONCAT(@@hostname, ':', @@port) AS s, UNIX_TIMESTAMP() - (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME') AS t",
    )) as Array<{ c: number | string; s: string; t: number | string }>;
    return row ? { server: String(row.s), since: Number(row.t), conn: String(row.c) } : undefined;
  }
  if (session.dialect === 'postgres') {
    const [row] = (await session.query(
      "SELECT pg_backend_pid() AS c, coalesce(host(inet_server_addr()), 'local') || ':' || coalesce(inet_server_port(), 0) AS s, extract(epoch FROM pg_postmaster_start_time())::float8 AS t",
    )) as Array<{ c: number; s: string; t: number }>;
    return row ? { server: String(row.s), since: Number(row.t), conn: String(row.c) } : undefined;
  }
  if (session.dialect === 'clickhouse' && session.queryIdPrefix) {
    const [row] = (await session.query(
      'SELECT hostName() AS s, toUnixTimestamp(now()) - uptime() AS t',
    )) as Array<{ s: string; t: number | string }>;
    return row ? { server: String(row.s), since: Number(row.t), conn: session.queryIdPrefix } : undefined;
  }
  return undefined;
}

/** How long the marked statement has been running on its server, or undefined when it is gone. */
export async function stillRunning(session: TaskSession, mark: ServerMark): Promise<number | undefined> {
  const now = await serverMark(session);
  if (!now || now.server !== mark.server || Math.abs(now.since - mark.since) > SINCE_SLACK_S)
    return undefined;
  if (session.dialect === 'mysql') {
    const [row] = (await session.query(
      `SELECT TIME AS t FROM information_schema.PROCESSLIST WHERE ID = ${connectionNumber(mark)}`,
    )) as Array<{ t: number }>;
    return row ? Number(row.t) * 1000 : undefined;
  }
  if (session.dialect === 'postgres') {
    const [row] = (await session.query(
      `SELECT extract(epoch FROM now() - coalesce(query_start, backend_start)) * 1000 AS t FROM pg_stat_activity WHERE pid = ${connectionNumber(mark)}`,
    )) as Array<{ t: number }>;
    return row ? Number(row.t) : undefined;
  }
  const [row] = (await session.query(
    `SELECT max(elapsed) * 1000 AS t, count() AS n FROM system.processes WHERE query_id LIKE '${queryIdPrefix(mark)}%'`,
  )) as Array<{ t: number | string; n: number | string }>;
  return row && Number(row.n) > 0 ? Number(row.t) : undefined;
}

/** Asks the server to stop the marked statement (`KILL QUERY`, `pg_cancel_backend`, ClickHouse `KILL QUERY`). */
export async function cancelRunning(session: TaskSession, mark: ServerMark): Promise<void> {
  if (session.dialect === 'mysql') await session.query(`KILL QUERY ${connectionNumber(mark)}`);
  else if (session.dialect === 'postgres')
    await session.query(`SELECT pg_cancel_backend(${connectionNumber(mark)})`);
  else await session.execute({ sql: `KILL QUERY WHERE query_id LIKE '${queryIdPrefix(mark)}%' ASYNC` });
}

// The mark comes from saved progress: only digits (or our own uuid prefix) reach SQL.
function connectionNumber(mark: ServerMark): number {
  const n = Number(mark.conn);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a connection id: ${mark.conn}`);
  return n;
}

function queryIdPrefix(mark: ServerMark): string {
  if (!/^[A-Za-z0-9-]+$/.test(mark.conn)) throw new Error(`not a query id prefix: ${mark.conn}`);
  return mark.conn;
}

/**
 * ClickHouse keeps what each query did in `system.query_log`: the killed run's statement, found by
 * its session's query-id prefix and its text, says whether it finished. An INSERT that
 * failed part-way may have written some blocks (ClickHouse inserts are not atomic across blocks):
 * only a clean finish or a failure that wrote nothing decides. Undefined when the log cannot tell
 * (no entry yet, no access to `SYSTEM FLUSH LOGS`, a query log turned off).
 */
export async function clickhouseLogVerdict(
  session: TaskSession,
  mark: ServerMark,
  sql: string,
): Promise<{ verdict: 'applied' | 'not-applied'; evidence: string } | undefined> {
  if (session.dialect !== 'clickhouse') return undefined;
  try {
    await session.execute({ sql: 'SYSTEM FLUSH LOGS' });
    const literal = `'${sql.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
    const rows = (await session.query(
      `SELECT query_id AS id, CAST(type AS Int8) AS type, written_rows AS written, exception FROM system.query_log WHERE query_id LIKE '${queryIdPrefix(mark)}%' AND query = ${literal} ORDER BY toUInt64OrZero(replaceRegexpOne(query_id, '^.*-q', '')) DESC, type DESC LIMIT 1`,
    )) as Array<{ id: string; type: number | string; written: number | string; exception: string }>;
    const [row] = rows;
    if (!row) {
      // The log has the session's other queries but not this one: it never reached the server.
      const [seen] = (await session.query(
        `SELECT count() AS n FROM system.query_log WHERE query_id LIKE '${queryIdPrefix(mark)}%'`,
      )) as Array<{ n: number | string }>;
      return Number(seen?.n ?? 0) > 0
        ? {
            verdict: 'not-applied',
            evidence: `system.query_log has no entry for it from session ${mark.conn}: it never reached the server`,
          }
        : undefined;
    }
    // Started and never ended (the server went down with it): the log cannot say how far it got.
    // type: 1 QueryStart, 2 QueryFinish, 3 ExceptionBeforeStart, 4 ExceptionWhileProcessing.
    if (Number(row.type) === 1) return undefined;
    if (Number(row.type) === 2)
      return {
        verdict: 'applied',
        evidence: `system.query_log: query ${row.id} finished (${row.written} rows written)`,
      };
    if (Number(row.written) === 0)
      return {
        verdict: 'not-applied',
        evidence: `system.query_log: query ${row.id} failed before writing anything (${String(row.exception).split('\n')[0]})`,
      };
    return undefined;
  } catch {
    return undefined;
  }
}
