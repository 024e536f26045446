import { posix } from 'node:path';
import { z } from 'zod';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import type { EventSink } from '../events/index.js';
import { EventBus } from '../events/index.js';
import { nullSink } from '../events/internal.js';
import { validateOptions } from '../options/index.js';
import type { SshSession } from '../remote/index.js';
import {
  countTables,
  type DatabaseSpec,
  dumpDatabase,
  END_MARKERS,
  type ValidDatabaseSpec,
  validateSpecs,
} from './databases.js';
import { DEFAULT_EXCLUDES } from './exclude.js';
import type { BackupHost } from './host.js';
import { backupIdFor, isInside } from './ids.js';
import { LocalHost } from './local-host.js';
import {
  type BackupFile,
  type BackupManifest,
  MANIFEST_FILE,
  PARTIAL_MARKER,
  parseManifest,
} from './manifest.js';
import { RemoteHost } from './remote-host.js';
import { describeProblems, verifyBackup } from './verify.js';

const absolute = z.string().refine((p) => posix.isAbsolute(p), 'must be an absolute path');

export const backupOptionsSchema = z
  .object({
    /** The directory that holds `backup_<timestamp>/` directories (seed: `/backup`). */
    root: absolute,
    component: z.string().min(1),
    site: z.string().default(''),
    versionFrom: z.string().min(1),
    versionTo: z.string().min(1),
    runId: z.string().optional(),
    /** The program directory, archived whole except `excludes`. */
    programDir: absolute.optional(),
    /** Patterns left out of the program archive. Default: logs, temp files, pid files. */
    excludes: z.array(z.string().min(1)).default([...DEFAULT_EXCLUDES]),
    /** System configuration (service units, environment files) to archive. */
    config: z
      .object({
        paths: z.array(absolute).min(1),
        /** Archive members are relative to this; restored under it. Default `/`. */
        root: absolute.default('/'),
      })
      .optional(),
    databases: z.array(z.custom<DatabaseSpec>()).default([]),
    host: z.custom<BackupHost>((v) => typeof (v as BackupHost)?.run === 'function').optional(),
    session: z.custom<SshSession>((v) => typeof (v as SshSession)?.exec === 'function').optional(),
    events: z.custom<EventSink>((v) => typeof (v as EventSink)?.emit === 'function').optional(),
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal).optional(),
    now: z.custom<() => Date>((v) => typeof v === 'function').optional(),
  })
  .strict();

export type BackupOptions = z.input<typeof backupOptionsSchema>;

export interface CreateBackupResult {
  readonly status: 'completed' | 'failed';
  readonly backupId: string;
  readonly dir: string;
  readonly host: string;
  readonly manifest?: BackupManifest;
  readonly durationMs: number;
  readonly error?: UpgradeKitError;
}

/** The host a backup or rollback works on: the one given, a remote one through a session, or this machine. */
export function hostFor(options: {
  host?: BackupHost | undefined;
  session?: SshSession | undefined;
}): BackupHost {
  if (options.host) return options.host;
  if (options.session) return new RemoteHost(options.session);
  return new LocalHost();
}

function databaseFile(spec: ValidDatabaseSpec, count: number): { item: string; file: string } {
  // ClickHouse's dump is an archive of per-table statements and Native rows (clickhouse.ts).
  const ext = spec.engine === 'clickhouse' ? 'tar.gz' : 'sql';
  return count === 1 && spec.name === 'database'
    ? { item: 'database_backup', file: `database_backup.${ext}` }
    : { item: `database_${spec.name}`, file: `database_${spec.name}.${ext}` };
}

/** Everything that can be wrong with the input, found before anything is written. */
async function preflight(
  host: BackupHost,
  options: z.output<typeof backupOptionsSchema>,
  specs: ValidDatabaseSpec[],
): Promise<void> {
  const bad = (message: string, context: Record<string, unknown> = {}) =>
    new UpgradeKitError(ErrorCodes.BAD_INPUT, `backup: ${message}`, { context });
  if (!options.programDir && !options.config && specs.length === 0) {
    throw bad('nothing to back up: give `programDir`, `config` or `databases`');
  }
  if (options.programDir) {
    if (!(await host.isDirectory(options.programDir)))
      throw bad(`the program directory ${options.programDir} does not exist on ${host.name}`, {
        programDir: options.programDir,
      });
    if (isInside(options.programDir, options.root))
      throw bad(
        `the backup root ${options.root} is inside the program directory ${options.programDir}; the backup would archive itself`,
      );
  }
  if (options.config) {
    for (const path of options.config.paths) {
      if (!isInside(options.config.root, path))
        throw bad(`config path ${path} is not under config.root ${options.config.root}`, { path });
      if (!(await host.exists(path)))
        throw bad(`config path ${path} does not exist on ${host.name}`, { path });
    }
  }
  for (const spec of specs) {
    if (spec.engine === 'clickhouse') continue; // HTTP from here: no tool on the host
    const tools = spec.engine === 'postgres' ? ['pg_dump'] : ['mariadb-dump', 'mysqldump'];
    if (!(await host.which(tools)))
      throw bad(`${tools.join(' or ')} (for database ${spec.database}) is not installed on ${host.name}`, {
        database: spec.database,
      });
  }
}

async function newBackupDir(
  host: BackupHost,
  root: string,
  now: Date,
): Promise<{ backupId: string; dir: string }> {
  await host.mkdirPrivate(root);
  for (let sequence = 1; ; sequence++) {
    const backupId = backupIdFor(now, sequence);
    const dir = posix.join(root, backupId);
    if (await host.exists(dir)) continue;
    await host.mkdirPrivate(dir);
    return { backupId, dir };
  }
}

/**
 * Makes a verified backup (seed 004 §4.4.1): database dumps, the program directory and system
 * configuration as tar.gz, then `backup_manifest.json` — last and atomically, so a backup with a
 * manifest is complete. Every file is `0600` in a `0700` directory. A failed backup is removed and
 * the result says why; bad input throws before anything is written.
 *
 * @example
 * const result = await createBackup({
 *   root: '/backup', component: 'app', site: 'site-1', versionFrom: '2.1.0', versionTo: '2.2.0',
 *   programDir: '/opt/app', config: { paths: ['/etc/systemd/system/app.service'] },
 *   databases: [{ engine: 'mariadb', database: 'app', host: 'db1', user: 'backup', password }],
 * });
 * if (result.status !== 'completed') throw result.error;
 */
export async function createBackup(input: BackupOptions): Promise<CreateBackupResult> {
  const options = validateOptions('createBackup', backupOptionsSchema, input);
  const host = hostFor(options);
  const events = options.events ?? nullSink;
  for (const spec of options.databases)
    if (spec.password && events instanceof EventBus) events.addSecret(spec.password);
  const specs = validateSpecs(options.databases, host);
  await preflight(host, options, specs);

  const started = performance.now();
  const now = (options.now ?? (() => new Date()))();
  const { backupId, dir } = await newBackupDir(host, options.root, now);
  const log = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) =>
    events.emit({
      type: 'log',
      level,
      message: `backup ${backupId}${host.remote ? ` on ${host.name}` : ''}: ${message}`,
      step: 'backup',
      ...(host.remote ? { host: host.name } : {}),
      ...(fields ? { fields } : {}),
    });
  const signal = options.signal;
  try {
    await host.writeTextAtomic(
      posix.join(dir, PARTIAL_MARKER),
      JSON.stringify({
        component: options.component,
        site: options.site,
        pid: process.pid,
        started: now.toISOString(),
      }),
    );
    const files: Record<string, BackupFile> = {};

    for (const spec of specs) {
      signal?.throwIfAborted();
      const { item, file } = databaseFile(spec, specs.length);
      const path = posix.join(dir, file);
      const t0 = performance.now();
      const tables = await countTables(host, spec);
      const { tool } = await dumpDatabase(host, spec, path, signal);
      const facts = await host.inspect(path, 512);
      const ended = spec.engine === 'clickhouse' || END_MARKERS[spec.engine].test(facts?.tail ?? '');
      if (!facts?.sha256 || !ended)
        throw new Error(`the dump of ${spec.database} has no completion line; ${tool} stopped early`);
      const size = facts.size;
      files[item] = {
        kind: 'database',
        file,
        size,
        sha256: facts.sha256,
        engine: spec.engine,
        database: spec.database,
        ...(spec.host ? { host: spec.host } : {}),
        ...(spec.port ? { port: spec.port } : {}),
        ...(spec.user ? { user: spec.user } : {}),
        tool,
        tables,
        dump_completed: true,
      };
      log(
        'info',
        `dumped ${spec.engine} database ${spec.database} (${tables} tables, ${size} bytes) in ${Math.round(performance.now() - t0)} ms`,
      );
    }

    if (options.programDir) {
      signal?.throwIfAborted();
      const file = 'program_directory.tar.gz';
      const path = posix.join(dir, file);
      const t0 = performance.now();
      const made = await host.createArchive({
        file: path,
        cwd: options.programDir,
        entries: ['.'],
        excludes: options.excludes,
        ...(signal ? { signal } : {}),
      });
      const facts = made.sha256 ? undefined : await host.inspect(path, 0);
      const size = facts?.size ?? (await host.size(path));
      files.program_directory = {
        kind: 'program_directory',
        file,
        size,
        sha256: made.sha256 ?? facts?.sha256 ?? '',
        source_path: options.programDir,
        excludes: options.excludes,
        entries: made.entries,
      };
      log(
        'info',
        `archived ${options.programDir} (${made.entries} entries, ${size} bytes) in ${Math.round(performance.now() - t0)} ms`,
      );
    }

    if (options.config) {
      signal?.throwIfAborted();
      const file = 'system_config.tar.gz';
      const path = posix.join(dir, file);
      const { root, paths } = options.config;
      const made = await host.createArchive({
        file: path,
        cwd: root,
        entries: paths.map((p) => posix.relative(root, p)),
        excludes: [],
        ...(signal ? { signal } : {}),
      });
      const facts = made.sha256 ? undefined : await host.inspect(path, 0);
      files.system_config = {
        kind: 'system_config',
        file,
        size: facts?.size ?? (await host.size(path)),
        sha256: made.sha256 ?? facts?.sha256 ?? '',
        config_root: root,
        config_paths: paths,
        entries: made.entries,
      };
      log('info', `archived ${paths.length} config path(s) (${made.entries} entries)`);
    }

    const manifest: BackupManifest = {
      format: 1,
      backup_id: backupId,
      timestamp: now.toISOString(),
      version_from: options.versionFrom,
      version_to: options.versionTo,
      component: options.component,
      site: options.site,
      host: host.name,
      ...(options.runId ? { run_id: options.runId } : {}),
      backup_files: files,
      backup_status: 'completed',
      verification_passed: true,
      duration_ms: Math.round(performance.now() - started),
    };
    // Last, and whole or not at all: a manifest means every file above is in place.
    const text = `${JSON.stringify(manifest, null, 2)}\n`;
    parseManifest(text, MANIFEST_FILE);
    await host.writeTextAtomic(posix.join(dir, MANIFEST_FILE), text);
    const verified = await verifyBackup(host, options.root, backupId);
    if (!verified.ok) {
      await host.remove(posix.join(dir, MANIFEST_FILE));
      throw new Error(`it does not verify: ${describeProblems(verified)}`);
    }
    await host.remove(posix.join(dir, PARTIAL_MARKER));
    log('info', `completed and verified in ${Math.round(performance.now() - started)} ms`);
    return {
      status: 'completed',
      backupId,
      dir,
      host: host.name,
      manifest,
      durationMs: performance.now() - started,
    };
  } catch (cause) {
    // Seed 004 §4.4.1.2: an incomplete backup is deleted, so it can never be mistaken for one.
    await host.remove(dir).catch(() => {});
    const error =
      cause instanceof UpgradeKitError && cause.code !== ErrorCodes.STEP_FAILED
        ? cause
        : new UpgradeKitError(
            ErrorCodes.BACKUP_FAILED,
            `backup ${backupId} on ${host.name} failed and was removed: ${describeError(cause).message}`,
            { cause, context: { backupId, host: host.name } },
          );
    log('error', error.message);
    return {
      status: 'failed',
      backupId,
      dir,
      host: host.name,
      durationMs: performance.now() - started,
      error,
    };
  }
}
