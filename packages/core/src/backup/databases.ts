import {
  clickHouseAnswers,
  clickHouseAsideExists,
  countClickHouseTables,
  dropClickHouseAside,
  dumpClickHouse,
  loadClickHouse,
  moveClickHouseAside,
} from './clickhouse.js';
import {
  failed,
  isClickHouse,
  isMy,
  literal,
  myIdent,
  pgIdent,
  query,
  type Spec,
  toolCommand,
} from './database-tools.js';
import type { BackupHost } from './host.js';

export {
  clientMessage,
  type DatabaseSpec,
  databaseSpecSchema,
  END_MARKERS,
  type ValidDatabaseSpec,
  validateSpecs,
} from './database-tools.js';

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
  const { binary, argv, env } = await toolCommand(host, spec, 'dump', {
    my: [
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
    ],
    pg: ['--create', `--file=${file}`, `--dbname=${spec.database}`],
  });
  // Private from the first byte: the tools create their output with the process umask.
  const result = await host.run(host.remote ? ['sh', '-c', 'umask 077; exec "$@"', 'sh', ...argv] : argv, {
    env,
    ...(signal ? { signal } : {}),
  });
  if (result.code !== 0) throw failed('dump', spec, host, result);
  await host.chmodPrivate(file);
  return { tool: binary.split('/').pop()! };
}

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
  const { argv, env } = await toolCommand(host, spec, 'client', {
    // No silent reconnect: a load whose connection was killed must stop, not carry on.
    my: ['--batch', '--disable-reconnect'],
    pg: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--dbname=postgres', `--file=${file}`],
  });
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
