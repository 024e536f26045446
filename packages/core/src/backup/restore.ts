import { posix } from 'node:path';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import { carryOver, recordedAside } from './asides.js';
import {
  canConnect,
  countTables,
  freeAsideName,
  loadDump,
  moveDatabaseAside,
  type ValidDatabaseSpec,
} from './databases.js';
import type { BackupHost } from './host.js';
import { fileInBackup } from './ids.js';
import type { BackupManifest, ConfigBackupFile, DatabaseBackupFile, ProgramBackupFile } from './manifest.js';
import { type PathProgress, type PathState, parsePathProgress, restorePath } from './restore-path.js';

/** Where a restore step is inside itself, saved in the history so a continuation resumes there. */
export interface StepProgress {
  readonly progress: string | undefined;
  save(progress: string): Promise<unknown>;
}

export interface RestoreTarget {
  readonly host: BackupHost;
  readonly dir: string;
  readonly manifest: BackupManifest;
  readonly rollbackId: string;
  readonly signal?: AbortSignal;
}

function failed(message: string, context: Record<string, unknown>, cause?: unknown): UpgradeKitError {
  return new UpgradeKitError(ErrorCodes.ROLLBACK_FAILED, message, {
    context,
    ...(cause ? { cause } : {}),
  });
}

/** Runs `restorePath` for each path in turn, recording each path's state in the step's progress. */
async function restorePaths(
  target: RestoreTarget,
  archive: string,
  paths: readonly { path: string; member?: string }[],
  step: StepProgress,
  after?: (path: string, state: PathState) => Promise<void>,
): Promise<void> {
  const states: PathProgress = parsePathProgress(step.progress);
  for (const { path, member } of paths) {
    const state = await restorePath({
      host: target.host,
      archive,
      path,
      ...(member !== undefined ? { member } : {}),
      rollbackId: target.rollbackId,
      ...(target.signal ? { signal: target.signal } : {}),
      ...(states[path] ? { recorded: states[path] } : {}),
      save: async (value) => {
        if (value) states[path] = value;
        else delete states[path];
        await step.save(JSON.stringify(states));
      },
    });
    await after?.(path, state);
  }
}

/**
 * Step 3: the program directory, from its archive. What the backup leaves out (logs, temporary
 * files) comes over from the pre-rollback copy at once, not at step 6: a service started at step 5
 * that writes `logs/server.log` needs its `logs/`, and the logs that explain the rollback belong
 * in the restored directory.
 */
export async function restoreProgramDir(
  target: RestoreTarget,
  entry: ProgramBackupFile,
  step: StepProgress,
): Promise<void> {
  const archive = fileInBackup(target.dir, entry.file, target.manifest.backup_id);
  await restorePaths(target, archive, [{ path: entry.source_path }], step, async (path, state) => {
    if (!state.aside) return;
    try {
      await carryOver(target.host, state.aside, path, entry.excludes, target.rollbackId);
    } catch (error) {
      throw failed(
        `${path} on ${target.host.name} is restored, but moving the logs and temporary files over from ${state.aside} failed: ${describeError(error).message}; what was not moved is still there (continuing the rollback moves it)`,
        { path, aside: state.aside },
        error,
      );
    }
  });
}

/**
 * Step 4: each configuration path, from its part of the archive (members are relative to
 * `config_root`, `/` by default). A path equal to the root is restored from the whole archive.
 */
export async function restoreConfig(
  target: RestoreTarget,
  entry: ConfigBackupFile,
  step: StepProgress,
): Promise<void> {
  const archive = fileInBackup(target.dir, entry.file, target.manifest.backup_id);
  const paths = entry.config_paths.map((path) => {
    const member = posix.relative(entry.config_root, path);
    return member === '' ? { path } : { path, member };
  });
  await restorePaths(target, archive, paths, step);
}

/**
 * Step 2, one database: what is there goes aside (renamed, not copied) under a name no database
 * has, the dump is loaded, and the table count must equal the one recorded at backup time. The
 * name is recorded before the move, so a continuation finishes that move and loads again.
 */
export async function restoreDatabase(
  target: RestoreTarget,
  entry: DatabaseBackupFile,
  spec: ValidDatabaseSpec,
  step: StepProgress,
): Promise<void> {
  const { host, rollbackId } = target;
  const dump = fileInBackup(target.dir, entry.file, target.manifest.backup_id);
  const where = `database ${spec.database} on ${host.name}`;
  let aside = recordedAside(step.progress, spec.database, rollbackId);
  if (step.progress !== 'none' && !aside?.moved) {
    const name = aside?.name ?? (await freeAsideName(host, spec, rollbackId));
    await step.save(`moving:${name}`);
    try {
      const kept = await moveDatabaseAside(host, spec, name);
      await step.save(kept ? `aside:${name}` : 'none');
      aside = kept ? { name, moved: true } : undefined;
    } catch (error) {
      throw failed(
        `moving ${where} aside to ${name} failed: ${describeError(error).message}; its tables are in ${spec.database} or ${name}, none dropped (continuing the rollback finishes the move)`,
        { database: spec.database, aside: name },
        error,
      );
    }
  }
  const kept = aside
    ? `its tables from before the rollback are kept in database ${aside.name} until the rollback verifies, and ${spec.database} may hold part of the backup, which continuing the rollback loads again`
    : `${spec.database} may hold part of the backup, which continuing the rollback loads again`;
  target.signal?.throwIfAborted();
  try {
    await loadDump(host, spec, dump, target.signal);
  } catch (error) {
    throw failed(
      `${describeError(error).message}; ${kept}`,
      { database: spec.database, ...(aside ? { aside: aside.name } : {}) },
      error,
    );
  }
  const tables = await countTables(host, spec);
  if (tables !== entry.tables) {
    throw failed(
      `${where} has ${tables} tables after the restore, the backup recorded ${entry.tables}; ${kept}`,
      { database: spec.database, tables, expected: entry.tables },
    );
  }
}

/** Step 6 checks: the databases answer, restored paths exist. Returns problems, empty when all is well. */
export async function verifyRestored(
  target: RestoreTarget,
  databases: readonly { entry: DatabaseBackupFile; spec: ValidDatabaseSpec }[],
): Promise<string[]> {
  const { host, manifest } = target;
  const problems: string[] = [];
  for (const { spec, entry } of databases) {
    try {
      await canConnect(host, spec);
      const tables = await countTables(host, spec);
      if (tables < entry.tables)
        problems.push(`database ${spec.database}: ${tables} tables, expected ${entry.tables}`);
    } catch (error) {
      problems.push(`database ${spec.database}: ${(error as Error).message}`);
    }
  }
  for (const entry of Object.values(manifest.backup_files)) {
    const paths =
      entry.kind === 'program_directory'
        ? [entry.source_path]
        : entry.kind === 'system_config'
          ? entry.config_paths
          : [];
    const found = await host.existing(paths);
    for (const path of paths) if (!found.has(path)) problems.push(`${path} is missing`);
  }
  return problems;
}
