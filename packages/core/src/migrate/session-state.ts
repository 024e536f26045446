import type { TaskSession } from './session.js';

/**
 * What a file has made of its session so far, by value: the current database (MySQL) and every
 * session variable that differs from a fresh session's, user variables the file set, and the table
 * locks it holds. A resume rebuilds the session from this before its next statement — re-running
 * the file's `SET @x = (SELECT MAX(id) …)` or `SET TIME_ZONE = NOW()`-like text would not give the
 * same values, and mysqldump's `SET @OLD_SQL_MODE=@@SQL_MODE` only means anything in
 * the session that ran it.
 */
export interface SessionState {
  readonly database?: string;
  /** Session variables (`sql_mode`, `foreign_key_checks`, `search_path`, …) that differ from the start. */
  readonly variables: Readonly<Record<string, string>>;
  /** MySQL user variables, as SQL literals. */
  readonly user: Readonly<Record<string, string>>;
  /** PostgreSQL: the role a `SET ROLE` made current. */
  readonly role?: string;
  /** The `LOCK TABLES …` statement in force, to take the same locks again. */
  readonly locks?: string;
  /** Why this session cannot be rebuilt (a temporary table holds data), if it cannot. */
  readonly unrestorable?: string;
}

// Values the server changes by itself, or that cannot be set: never compared, never restored.
const VOLATILE = new Set([
  'timestamp',
  'last_insert_id',
  'insert_id',
  'identity',
  'rand_seed1',
  'rand_seed2',
  'pseudo_thread_id',
  'warning_count',
  'error_count',
  'in_transaction',
  'last_gtid',
  'gtid_seq_no',
  'gtid_domain_id',
  'server_id',
  'autocommit', // followed by the unit tracker and restored first
  'transaction_isolation', // SET TRANSACTION applies to the next transaction only
  'tx_isolation',
  'transaction_read_only',
  'tx_read_only',
  'sql_log_bin',
  'profiling_history_size',
]);

export type Baseline = Readonly<Record<string, string>>;

/** The session variables of a fresh session, to tell what a file changed. */
export async function baseline(session: TaskSession): Promise<Baseline> {
  return Object.fromEntries(await readVariables(session));
}

// The MySQL session state a dump or a migration changes, and that a resume must have back. Any other
// variable a file SETs is added by name (see {@link assignedSessionVariables}). Reading these few is
// one small SELECT; information_schema.SESSION_VARIABLES (≈650 rows) after every SET was the
// slowest part of loading a mysqldump.
const MYSQL_TRACKED = [
  'sql_mode',
  'character_set_client',
  'character_set_connection',
  'character_set_results',
  'collation_connection',
  'foreign_key_checks',
  'unique_checks',
  'time_zone',
  'sql_notes',
  'sql_quote_show_create',
  'sql_safe_updates',
  'sql_auto_is_null',
  'big_tables',
  'group_concat_max_len',
  'max_statement_time',
  'lock_wait_timeout',
  'innodb_lock_wait_timeout',
  'sql_select_limit',
];

async function readVariables(
  session: TaskSession,
  extra: Iterable<string> = [],
): Promise<Array<[string, string]>> {
  if (session.dialect === 'mysql') {
    const names = [...new Set([...MYSQL_TRACKED, ...extra])].filter(
      (n) => /^[A-Za-z0-9_]+$/.test(n) && !VOLATILE.has(n),
    );
    const [row] = (await session
      .query(`SELECT ${names.map((n, i) => `@@SESSION.${n} AS \`v${i}\``).join(', ')}`)
      .catch(() => [{}])) as Array<Record<string, unknown>>;
    return names.flatMap((n, i) => {
      const value = row?.[`v${i}`];
      return value === undefined ? [] : [[n, value === null ? '' : String(value)] as [string, string]];
    });
  }
  if (session.dialect === 'clickhouse')
    return settings(session, 'SELECT name AS n, value AS v FROM system.settings WHERE changed');
  if (session.dialect === 'postgres')
    return settings(
      session,
      "SELECT name AS n, setting AS v FROM pg_settings WHERE context IN ('user', 'superuser')",
    );
  return [];
}

/** Name and value rows of a settings view (ClickHouse's, PostgreSQL's), NULL read as ''. */
async function settings(session: TaskSession, sql: string): Promise<Array<[string, string]>> {
  const rows = (await session.query(sql)) as Array<{ n: string; v: string | null }>;
  return rows.map((r) => [r.n, r.v ?? '']);
}

const SESSION_VARIABLE =
  /(?:^|[\s,])(?:SESSION\s+|LOCAL\s+|@@SESSION\.|@@LOCAL\.)?([A-Za-z_][A-Za-z0-9_]*)\s*:?=/gi;

/** Names of the session variables a MySQL SET statement assigns (not user variables). */
export function assignedSessionVariables(sql: string): string[] {
  const text = sql.replace(/^\s*\/\*!\d*\s*/, '').replace(/\*\/\s*$/, '');
  if (!/^\s*SET\b/i.test(text)) return [];
  const out: string[] = [];
  for (const m of text.replace(/^\s*SET\s+/i, ' ').matchAll(SESSION_VARIABLE)) {
    const name = (m[1] ?? '').toLowerCase();
    if (name && !['names', 'global', 'session', 'local', 'character'].includes(name)) out.push(name);
  }
  return [...new Set(out)];
}

/** Reads the session after a statement that may have changed it. */
export async function capture(
  session: TaskSession,
  base: Baseline,
  userVariables: ReadonlySet<string>,
  locks: string | undefined,
  temporary: string | undefined,
  sessionVariables: Iterable<string> = [],
): Promise<SessionState> {
  const variables: Record<string, string> = {};
  for (const [name, value] of await readVariables(session, sessionVariables)) {
    if (VOLATILE.has(name) || base[name] === value) continue;
    variables[name] = value;
  }
  const user: Record<string, string> = {};
  let database: string | undefined;
  let role: string | undefined;
  if (session.dialect === 'clickhouse') {
    const [row] = (await session.query('SELECT currentDatabase() AS db')) as Array<{ db?: string }>;
    database = row?.db;
  }
  if (session.dialect === 'postgres') {
    const [row] = (await session.query('SELECT current_user AS cu, session_user AS su')) as Array<{
      cu: string;
      su: string;
    }>;
    if (row && row.cu !== row.su) role = row.cu;
  }
  if (session.dialect === 'mysql') {
    const names = [...userVariables];
    const v = (n: string) => `@\`${n.replace(/`/g, '``')}\``;
    const select = [
      'DATABASE() AS `db`',
      ...names.flatMap((n, i) => [`${v(n)} AS \`v${i}\``, `QUOTE(${v(n)}) AS \`q${i}\``]),
    ];
    const [row] = (await session.query(`SELECT ${select.join(', ')}`)) as Array<Record<string, unknown>>;
    database = (row?.db as string | null) ?? undefined;
    names.forEach((n, i) => {
      // A number stays a number (SET FOREIGN_KEY_CHECKS=@OLD… refuses '1'); anything else is the
      // literal QUOTE() gives, which reads back the same string; NULL stays NULL.
      const value = row?.[`v${i}`];
      user[n] =
        typeof value === 'number' || typeof value === 'bigint'
          ? String(value)
          : String(row?.[`q${i}`] ?? 'NULL');
    });
  }
  return {
    ...(database !== undefined ? { database } : {}),
    ...(role !== undefined ? { role } : {}),
    variables,
    user,
    ...(locks ? { locks } : {}),
    ...(temporary ? { unrestorable: temporary } : {}),
  };
}

/** Rebuilds a saved session on a fresh one: database, variables, user variables, locks. */
export async function restore(session: TaskSession, state: SessionState, autocommit: boolean): Promise<void> {
  const literal = (value: string) =>
    /^-?\d+(\.\d+)?$/.test(value) ? value : `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  if (session.dialect === 'mysql') {
    if (state.database) {
      // Gone since (the file dropped it and failed before making it again): the old session had
      // no current database either.
      await session.query(`USE \`${state.database.replace(/`/g, '``')}\``).catch((error: unknown) => {
        if ((error as { code?: unknown }).code !== 'ER_BAD_DB_ERROR') throw error;
      });
    }
    // User variables first: their literals are read with a fresh session's sql_mode, before a
    // restored NO_BACKSLASH_ESCAPES or ANSI_QUOTES could change how they read.
    const sets = [
      ...Object.entries(state.user).map(([n, v]) => `@\`${n.replace(/`/g, '``')}\` = ${v}`),
      ...Object.entries(state.variables).map(([n, v]) => `SESSION ${n} = ${literal(v)}`),
    ];
    // One SET per variable: a value the server refuses names itself.
    for (const set of sets) await session.query(`SET ${set}`);
    if (!autocommit) await session.query('SET autocommit = 0');
    if (state.locks) await session.query(state.locks);
    return;
  }
  if (session.dialect === 'postgres') {
    for (const [n, v] of Object.entries(state.variables)) {
      await session.query(`SELECT pg_catalog.set_config('${n.replace(/'/g, "''")}', ${pgLiteral(v)}, false)`);
    }
    if (state.role) await session.query(`SET ROLE "${state.role.replace(/"/g, '""')}"`);
    return;
  }
  if (session.dialect === 'clickhouse') {
    // Statements, not queries: USE and SET return no rows for a FORMAT to apply to.
    if (state.database) await session.execute({ sql: `USE \`${state.database.replace(/`/g, '\\`')}\`` });
    for (const [n, v] of Object.entries(state.variables)) {
      if (!/^[A-Za-z0-9_]+$/.test(n)) continue;
      await session.execute({ sql: `SET ${n} = ${literal(v)}` });
    }
  }
}

function pgLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

const USER_VARIABLE = /(?<![@\w$])@(`(?:[^`]|``)+`|[A-Za-z0-9_$.]+)\s*:?=/g;

/** Names of the MySQL user variables a statement assigns (`SET @x = …`, `@x := …`). */
export function assignedUserVariables(sql: string): string[] {
  const out: string[] = [];
  for (const m of sql.matchAll(USER_VARIABLE)) {
    const raw = m[1] ?? '';
    out.push(raw.startsWith('`') ? raw.slice(1, -1).replace(/``/g, '`') : raw);
  }
  return out;
}
