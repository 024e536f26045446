// Shared by the backup tests: a small "installed application" on disk, tree snapshots, and
// canonical dumps of a database made by the real tools, to compare before and after a rollback.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { StateStore } from '@upgradekit/core';
import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, expect } from 'vitest';
import type { TestDatabase } from '#test-support';

const run = promisify(execFile);

/**
 * What `createBackup` and `Rollback` are told of `db`: its engine, name and server (no password
 * unless `extra` gives one, or another host and port, a proxy's).
 */
export function databaseSpec<E extends 'mariadb' | 'postgres'>(
  db: TestDatabase,
  engine: E,
  extra: { host?: string; port?: number; password?: string } = {},
) {
  const { host, port, user } = db.connection;
  return { engine, database: db.name, host, port, user, ...extra };
}

/** The four files of a full backup are readable by their owner only. */
export async function expectPrivateFiles(dir: string): Promise<void> {
  for (const file of [
    'program_directory.tar.gz',
    'database_backup.sql',
    'system_config.tar.gz',
    'backup_manifest.json',
  ]) {
    expect(((await stat(join(dir, file))).mode & 0o777).toString(8), file).toBe('600');
  }
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `uk-${prefix}-`));
}

/** What {@link backupWorkspace} holds once `beforeAll` has run. */
export interface BackupWorkspace {
  /** A scratch directory for the whole `describe`. */
  readonly work: string;
  /** `work/backup`: where the backups are written. */
  readonly root: string;
  /** `work/state.sqlite`. */
  readonly stateFile: string;
  /** A store open on `stateFile` (only when asked for with `{ state: true }`). */
  readonly state: StateStore;
}

/**
 * A scratch directory (and, with `state`, a state store in it) for the enclosing `describe`:
 * made in `beforeAll`; the store closed and the directory removed in `afterAll`, and, with
 * `asidesOf`, the databases the rollbacks of that MariaDB database set aside dropped (step 6 does,
 * but a failed test may not get there). Call it after `suiteDatabase`, so this runs first.
 */
export function backupWorkspace(
  prefix: string,
  options: { state?: boolean; asidesOf?: TestDatabase } = {},
): BackupWorkspace {
  const held: { work?: string; root?: string; stateFile?: string; state?: StateStore } = {};
  beforeAll(async () => {
    held.work = await tempDir(prefix);
    held.root = join(held.work, 'backup');
    held.stateFile = join(held.work, 'state.sqlite');
    if (options.state) held.state = await StateStore.open({ filename: held.stateFile });
  });
  afterAll(async () => {
    await held.state?.close();
    if (options.asidesOf) await dropAsides(options.asidesOf);
    if (held.work) await rm(held.work, { recursive: true, force: true });
  });
  return held as BackupWorkspace;
}

/**
 * Runs `use` with a knex of its own on `db`, destroyed afterwards. A rollback drops and recreates
 * the database, so no connection is kept from before one to after it.
 */
export async function withKnex<T>(db: TestDatabase, use: (knex: Knex) => Promise<T>): Promise<T> {
  const knex = knexFactory(db.config);
  try {
    return await use(knex);
  } finally {
    await knex.destroy();
  }
}

/** The names of the databases the rollbacks of MariaDB `db` set aside (`<name>_uk…`). */
export async function asideDatabases(knex: Knex, db: TestDatabase): Promise<string[]> {
  const [rows] = await knex.raw('SHOW DATABASES LIKE ?', [`${db.name}_uk%`]);
  return (rows as Record<string, string>[]).map((row) => Object.values(row)[0]!);
}

/** Drops what the rollbacks of MariaDB `db` set aside. */
export function dropAsides(db: TestDatabase): Promise<void> {
  return withKnex(db, async (knex) => {
    for (const name of await asideDatabases(knex, db)) await knex.raw(`DROP DATABASE \`${name}\``);
  });
}

/** An application install: binaries, a jar, config, plus logs and temp files that must not be archived. */
export async function makeApp(dir: string, version: string): Promise<void> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'lib'), { recursive: true });
  await mkdir(join(dir, 'conf'), { recursive: true });
  await mkdir(join(dir, 'logs'), { recursive: true });
  await mkdir(join(dir, 'tmp'), { recursive: true });
  await writeFile(join(dir, 'bin', 'app.sh'), `#!/bin/sh\necho app ${version}\n`, { mode: 0o755 });
  await writeFile(join(dir, 'lib', 'app.jar'), Buffer.alloc(64 * 1024, version));
  await writeFile(join(dir, 'conf', 'application.properties'), `version=${version}\nport=8080\n`);
  await writeFile(join(dir, 'logs', 'app.log'), 'a log line\n');
  await writeFile(join(dir, 'app.pid'), '4242\n');
  await writeFile(join(dir, 'tmp', 'cache.bin'), 'cache');
}

/** path → sha256 (or link target / "dir") of everything under `dir`, for exact comparison. */
export async function snapshot(dir: string, skip: (path: string) => boolean = () => false) {
  const out: Record<string, string> = {};
  const walk = async (current: string) => {
    for (const name of (await readdir(current)).sort()) {
      const path = join(current, name);
      const rel = relative(dir, path);
      if (skip(rel)) continue;
      const stat = await lstat(path);
      if (stat.isSymbolicLink()) out[rel] = `link:${await readlink(path)}`;
      else if (stat.isDirectory()) {
        out[rel] = `dir:${(stat.mode & 0o777).toString(8)}`;
        await walk(path);
      } else
        out[rel] = `${(stat.mode & 0o777).toString(8)}:${createHash('sha256')
          .update(await readFile(path))
          .digest('hex')}`;
    }
  };
  await walk(dir);
  return out;
}

/** A canonical dump of the schema and data, made by the real tool, without dates or comments. */
export async function canonicalDump(db: TestDatabase, engine: 'mariadb' | 'postgres'): Promise<string> {
  const c = db.connection;
  if (engine === 'mariadb') {
    const { stdout } = await run(
      'mariadb-dump',
      [
        `--host=${c.host}`,
        `--port=${c.port}`,
        `--user=${c.user}`,
        '--skip-dump-date',
        '--skip-comments',
        '--routines',
        '--triggers',
        '--order-by-primary',
        c.database,
      ],
      { env: { ...process.env, MYSQL_PWD: c.password }, maxBuffer: 256 << 20 },
    );
    return stdout;
  }
  const { stdout } = await run(
    'pg_dump',
    [`--host=${c.host}`, `--port=${c.port}`, `--username=${c.user}`, '--no-password', c.database],
    { env: { ...process.env, PGPASSWORD: c.password }, maxBuffer: 256 << 20 },
  );
  // Newer pg_dump wraps its output in \restrict/\unrestrict with a random key per dump.
  return stdout.replace(/^\\(un)?restrict \w+$/gm, '');
}

export const sha = (text: string) => createHash('sha256').update(text).digest('hex');
