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

async function readVariables(session: TaskSession): Promise<Array<[string, string]>> {
  if (session.dialect === 'mysql') {
    const rows = (await session.query(
      'SELECT VARIABLE_NAME AS n, VARIABLE_VALUE AS v FROM information_schema.SESSION_VARIABLES',
    )) as Array<{ n: string; v: string | null }>;
    return rows.map((r) => [r.n.toLowerCase(), r.v ?? '']);
  }
  if (session.dialect === 'postgres') {
    const rows = (await session.query(
      "SELECT name AS n, setting AS v FROM pg_settings WHERE context IN ('user', 'superuser')",
    )) as Array<{
      n: string;
      v: string | null;
    }>;
    return rows.map((r) => [r.n, r.v ?? '']);
  }
  return [];
}

/** Reads the session after a statement that may have changed it. */
export async function capture(
  session: TaskSession,
  base: Baseline,
  userVariables: ReadonlySet<string>,
  locks: string | undefined,
  temporary: string | undefined,
): Promise<SessionState> {
  const variables: Record<string, string> = {};
  for (const [name, value] of await readVariables(session)) {
    if (VOLATILE.has(name) || base[name] === value) continue;
    variables[name] = value;
  }
  const user: Record<string, string> = {};
  let database: string | undefined;
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
    if (state.database) await session.query(`USE \`${state.database.replace(/`/g, '``')}\``);
    const sets = [
      ...Object.entries(state.variables).map(([n, v]) => `SESSION ${n} = ${literal(v)}`),
      ...Object.entries(state.user).map(([n, v]) => `@\`${n.replace(/`/g, '``')}\` = ${v}`),
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
