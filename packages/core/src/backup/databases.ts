import { z } from 'zod';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import {
  clickHouseAnswers,
  clickHouseAsideExists,
  countClickHouseTables,
  dropClickHouseAside,
  dumpClickHouse,
  loadClickHouse,
  moveClickHouseAside,
} from './clickhouse.js';
import type { BackupHost, HostRunResult } from './host.js';

/**
 * Database names go into the SQL rollback runs (`RENAME TABLE`, `ALTER DATABASE`) as quoted
 * identifiers; allowing only these characters keeps that safe on every engine and on every shell.
 */
const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_$-]{0,47}$/;

export const databaseSpecSchema = z
  .object({
    /** What the backup calls it (file `database_<name>.sql` when there are several). Default: `database`. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be letters, digits, `_` or `-`')
      .optional(),
    engine: z.enum(['mariadb', 'mysql', 'postgres', 'clickhouse']),
    database: z
      .string()
      .regex(DATABASE_NAME, 'must be a plain database name (letters, digits, `_`, `$`, `-`)'),
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    user: z.string().min(1).optional(),
    /** Given to the tools through their environment (`MYSQL_PWD`, `PGPASSWORD`), never argv, logs or manifests. */
    password: z.string().optional(),
    /** MariaDB/MySQL option file on the host that runs the dump (`--defaults-extra-file`). */
    defaultsFile: z.string().min(1).optional(),
    /** PostgreSQL password file on the host that runs the dump (`PGPASSFILE`). */
    passFile: z.string().min(1).optional(),
  })
  .strict();

export type DatabaseSpec = z.input<typeof databaseSpecSchema>;
type Spec = z.output<typeof databaseSpecSchema>;

/** The end-of-dump lines the tools write last (seed 004 §4.2.3.3: "Dump completed"). */
export const END_MARKERS = {
  mariadb: /-- Dump completed/,
  mysql: /-- Dump completed/,
  postgres: /-- PostgreSQL database dump complete/,
} as const;

const TOOLS = {
  dump: {
    mariadb: ['mariadb-dump', 'mysqldump'],
    mysql: ['mysqldump', 'mariadb-dump'],
    postgres: ['pg_dump'],
  },
  client: { mariadb: ['mariadb', 'mysql'], mysql: ['mysql', 'mariadb'], postgres: ['psql'] },
} as const;

type ToolEngine = keyof (typeof TOOLS)['dump'];

async function tool(host: BackupHost, kind: 'dump' | 'client', engine: ToolEngine): Promise<string> {
  const names = TOOLS[kind][engine];
  const found = await host.which(names);
  if (!found) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `${names.join(' or ')} is not installed on ${host.name}; install the ${engine === 'postgres' ? 'postgresql-client' : 'mariadb-client'} package there`,
      { context: { host: host.name, engine } },
    );
  }
  return found;
}

function isMy(engine: Spec['engine']): boolean {
  return engine === 'mariadb' || engine === 'mysql';
}

/** ClickHouse goes over HTTP from this machine (see clickhouse.ts), not through tools on the host. */
function isClickHouse(spec: Spec): boolean {
  return spec.engine === 'clickhouse';
}

/** Connection arguments and environment; the password only ever in the environment. */
function connection(spec: Spec, host: BackupHost): { args: string[]; env: Record<string, string> } {
  const env: Record<string, string> = {};
  if (isMy(spec.engine)) {
    const args = spec.defaultsFile ? [`--defaults-extra-file=${spec.defaultsFile}`] : [];
    if (spec.host) args.push(`--host=${spec.host}`);
    if (spec.port) args.push(`--port=${spec.port}`);
    if (spec.user) args.push(`--user=${spec.user}`);
    if (spec.password !== undefined && spec.password !== '') env.MYSQL_PWD = spec.password;
    return { args, env };
  }
  const args = ['--no-password'];
  if (spec.host) args.push(`--host=${spec.host}`);
  if (spec.port) args.push(`--port=${spec.port}`);
  if (spec.user) args.push(`--username=${spec.user}`);
  if (spec.password !== undefined && spec.password !== '') env.PGPASSWORD = spec.password;
  if (spec.passFile) env.PGPASSFILE = spec.passFile;
  if (host.remote && (env.MYSQL_PWD || env.PGPASSWORD)) {
    // Unreachable through validateSpecs; kept so no future caller can send a password over argv.
    throw new UpgradeKitError(ErrorCodes.BAD_INPUT, 'a password cannot be used for a remote dump');
  }
  return { args, env };
}

/** Validates database specs once, at the edge, including what a remote host can be given. */
export function validateSpecs(specs: readonly DatabaseSpec[], host: BackupHost): ValidDatabaseSpec[] {
  const parsed = specs.map((spec, index) => {
    const result = databaseSpecSchema.safeParse(spec);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `databases[${index}]${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`,
        { context: { index, field: issue.path.join('.') } },
      );
    }
    const value = result.data;
    if (value.engine === 'clickhouse' && host.remote) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `databases[${index}] (${value.database}): ClickHouse is backed up over its HTTP interface from this machine into a local backup directory; use a local backup for it`,
        { context: { index, host: host.name } },
      );
    }
    if (host.remote && value.password) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `databases[${index}] (${value.database}) on ${host.name}: a password cannot be sent to a remote host without putting it on a command line; put it in a file on the host and name it with ${isMy(value.engine) ? '`defaultsFile` (a [client] option file)' : '`passFile` (a .pgpass file)'}`,
        { context: { index, host: host.name } },
      );
    }
    return value;
  });
  const names = parsed.map((s, i) => s.name ?? (parsed.length === 1 ? 'database' : `${s.database}_${i}`));
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `databases: two entries are called "${duplicate}"; give each a distinct \`name\``,
    );
  }
  return parsed.map((s, i) => ({ ...s, name: names[i]! }));
}

/**
 * What a database client said, error first. The mariadb client (10.11) echoes a failed statement
 * between two `--------------` lines before its `ERROR …` line; a report showing the first line
 * of a message showed only that separator. The echo is dropped (the statement is named anyway),
 * and the lines naming an error lead.
 */
export function clientMessage(stderr: string): string {
  const lines = stderr
    .replace(/^-{14}\n[\s\S]*?\n-{14}$/gm, '')
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '');
  const isError = (line: string) => /\b(ERROR|FATAL)\b|\berror:/.test(line);
  const text = [...lines.filter(isError), ...lines.filter((line) => !isError(line))].join('\n');
  return text.length > 800 ? `${text.slice(0, 800)}…` : text;
}

function failed(what: string, spec: Spec, host: BackupHost, result: HostRunResult): UpgradeKitError {
  return new UpgradeKitError(
    ErrorCodes.STEP_FAILED,
    `${what} of ${spec.engine} database ${spec.database} on ${host.name} failed (exit ${result.code}): ${clientMessage(result.stderr) || 'no message'}`,
    { context: { database: spec.database, engine: spec.engine, host: host.name, exitCode: result.code } },
  );
}

/** Dumps one database to `file` with the engine's own tool: consistent, and restorable as a whole. */
export async function dumpDatabase(
  host: BackupHost,
  spec: Spec,
  file: string,
  signal?: AbortSignal,
): Promise<{ tool: string }> {
  if (isClickHouse(spec)) {
    await dumpClickHouse(spec, file, signal);
    return { tool: 'clickhouse-http' };
  }
  const dump = await tool(host, 'dump', spec.engine as ToolEngine);
  const { args, env } = connection(spec, host);
  const argv = isMy(spec.engine)
    ? [
        dump,
        ...args,
        // One consistent snapshot without locking InnoDB tables (seed 004 §4.4.1.2).
        '--single-transaction',
        '--routines',
        '--triggers',
        '--events',
        '--hex-blob',
        // The dump drops and recreates the database: tables the upgrade added go too.
        '--add-drop-database',
        `--result-file=${file}`,
        '--databases',
        spec.database,
      ]
    : [dump, ...args, '--create', `--file=${file}`, `--dbname=${spec.database}`];
  // Private from the first byte: the tools create their output with the process umask.
  const result = await host.run(host.remote ? ['sh', '-c', 'umask 077; exec "$@"', 'sh', ...argv] : argv, {
    env,
    ...(signal ? { signal } : {}),
  });
  if (result.code !== 0) throw failed('dump', spec, host, result);
  await host.chmodPrivate(file);
  return { tool: dump.split('/').pop()! };
}

async function query(host: BackupHost, spec: Spec, sql: string, database?: string): Promise<string> {
  const client = await tool(host, 'client', spec.engine as ToolEngine);
  const { args, env } = connection(spec, host);
  const argv = isMy(spec.engine)
    ? [
        client,
        ...args,
        '--batch',
        '--skip-column-names',
        ...(database ? [`--database=${database}`] : []),
        `--execute=${sql}`,
      ]
    : [
        client,
        ...args,
        '-X',
        '-q',
        '-A',
        '-t',
        '-v',
        'ON_ERROR_STOP=1',
        `--dbname=${database ?? 'postgres'}`,
        `--command=${sql}`,
      ];
  const result = await host.run(argv, { env });
  if (result.code !== 0) throw failed(`query (${sql.slice(0, 40)}…)`, spec, host, result);
  return result.stdout.trim();
}

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
const myIdent = (s: string) => `\`${s.replace(/`/g, '``')}\``;
const pgIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** How many tables the database has: recorded at backup time, compared after a restore. */
export async function countTables(host: BackupHost, spec: Spec): Promise<number> {
  if (isClickHouse(spec)) return countClickHouseTables(spec);
  const sql = isMy(spec.engine)
    ? `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ${literal(spec.database)}`
    : "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')";
  return Number(await query(host, spec, sql, isMy(spec.engine) ? undefined : spec.database));
}

/** Step 6: can we connect and run a query on it? */
export async function canConnect(host: BackupHost, spec: Spec): Promise<void> {
  if (isClickHouse(spec)) return clickHouseAnswers(spec);
  await query(host, spec, 'SELECT 1', spec.database);
}

/**
 * The name the pre-rollback database is kept under until the restore verifies: `<db>_uk001` for
 * rollback_001, or with `_2`, `_3`… (`attempt`) when that name is taken.
 */
export function asideName(spec: Pick<Spec, 'database'>, rollbackId: string, attempt = 1): string {
  const suffix = `_uk${rollbackId.replace(/\D/g, '')}${attempt > 1 ? `_${attempt}` : ''}`;
  return `${spec.database.slice(0, 60 - suffix.length)}${suffix}`;
}

/**
 * A name for the pre-rollback copy that no database has: a rollback whose history was lost (another
 * state file, another component on the same database) can have this rollback's id, and the copy
 * it kept must be neither filled with other tables nor dropped with ours.
 */
export async function freeAsideName(host: BackupHost, spec: Spec, rollbackId: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const name = asideName(spec, rollbackId, attempt);
    if (!(await asideExists(host, spec, name))) return name;
  }
}

async function databaseExists(host: BackupHost, spec: Spec, name: string): Promise<boolean> {
  const sql = isMy(spec.engine)
    ? `SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ${literal(name)}`
    : `SELECT COUNT(*) FROM pg_database WHERE datname = ${literal(name)}`;
  return Number(await query(host, spec, sql)) > 0;
}

/**
 * Keeps what is there before a restore replaces it: PostgreSQL renames the database; MariaDB/MySQL
 * has no database rename, so its tables move (`RENAME TABLE`, atomic per statement, no copying) into
 * a new database. Safe to call again: tables already moved are not moved twice. Resolves false when
 * there was no database to keep.
 */
export async function moveDatabaseAside(host: BackupHost, spec: Spec, aside: string): Promise<boolean> {
  if (isClickHouse(spec)) return moveClickHouseAside(spec, aside);
  if (!(await databaseExists(host, spec, spec.database))) return databaseExists(host, spec, aside);
  if (!isMy(spec.engine)) {
    if (await databaseExists(host, spec, aside)) return true;
    await query(
      host,
      spec,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${literal(spec.database)} AND pid <> pg_backend_pid()`,
    );
    await query(host, spec, `ALTER DATABASE ${pgIdent(spec.database)} RENAME TO ${pgIdent(aside)}`);
    return true;
  }
  await query(host, spec, `CREATE DATABASE IF NOT EXISTS ${myIdent(aside)}`);
  const tables = (
    await query(
      host,
      spec,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = ${literal(spec.database)} AND table_type = 'BASE TABLE'`,
    )
  )
    .split('\n')
    .filter(Boolean);
  for (let i = 0; i < tables.length; i += 100) {
    const pairs = tables
      .slice(i, i + 100)
      .map((t) => `${myIdent(spec.database)}.${myIdent(t)} TO ${myIdent(aside)}.${myIdent(t)}`);
    await query(host, spec, `SET FOREIGN_KEY_CHECKS = 0; RENAME TABLE ${pairs.join(', ')}`);
  }
  return true;
}

/** Loads a dump made by `dumpDatabase`; it drops and recreates the database itself (or we drop it first). */
export async function loadDump(
  host: BackupHost,
  spec: Spec,
  file: string,
  signal?: AbortSignal,
): Promise<void> {
  if (isClickHouse(spec)) return loadClickHouse(spec, file, signal);
  const client = await tool(host, 'client', spec.engine as ToolEngine);
  const { args, env } = connection(spec, host);
  if (!isMy(spec.engine)) {
    // pg_dump --create writes CREATE DATABASE; a database left by an interrupted load goes first.
    await query(
      host,
      spec,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${literal(spec.database)} AND pid <> pg_backend_pid()`,
    );
    await query(host, spec, `DROP DATABASE IF EXISTS ${pgIdent(spec.database)}`);
  }
  if (isMy(spec.engine)) {
    // A client left loading by an interrupted attempt (its parent killed) would interleave with
    // this one: stop it. It runs with --disable-reconnect, so it does not come back.
    const others = await query(
      host,
      spec,
      `SELECT id FROM information_schema.processlist WHERE db = ${literal(spec.database)} AND id <> CONNECTION_ID()`,
    );
    for (const id of others.split('\n').filter((l) => /^\d+$/.test(l))) {
      await query(host, spec, `KILL ${id}`).catch(() => {}); // gone already: fine
    }
  }
  const argv = isMy(spec.engine)
    ? // No silent reconnect: a load whose connection was killed must stop, not carry on.
      [client, ...args, '--batch', '--disable-reconnect']
    : [client, ...args, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '--dbname=postgres', `--file=${file}`];
  const result = await host.run(argv, {
    env,
    ...(isMy(spec.engine) ? { stdinFile: file } : {}),
    ...(signal ? { signal } : {}),
  });
  if (result.code !== 0) throw failed('restore', spec, host, result);
}

/** Drops the pre-rollback copy once the restore has verified. */
export async function dropAside(host: BackupHost, spec: Spec, aside: string): Promise<boolean> {
  if (isClickHouse(spec)) return dropClickHouseAside(spec, aside);
  if (!(await databaseExists(host, spec, aside))) return false;
  const sql = isMy(spec.engine) ? `DROP DATABASE ${myIdent(aside)}` : `DROP DATABASE ${pgIdent(aside)}`;
  await query(host, spec, sql);
  return true;
}

export async function asideExists(host: BackupHost, spec: Spec, aside: string): Promise<boolean> {
  if (isClickHouse(spec)) return clickHouseAsideExists(spec, aside);
  return databaseExists(host, spec, aside);
}

export type ValidDatabaseSpec = Spec & { readonly name: string };
