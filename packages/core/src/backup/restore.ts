import { posix } from 'node:path';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import {
  asideName,
  canConnect,
  countTables,
  dropAside,
  loadDump,
  moveDatabaseAside,
  type ValidDatabaseSpec,
} from './databases.js';
import { excludeMatcher } from './exclude.js';
import type { BackupHost } from './host.js';
import { fileInBackup } from './ids.js';
import type { BackupManifest, ConfigBackupFile, DatabaseBackupFile, ProgramBackupFile } from './manifest.js';

/** Where a restore step is inside itself, saved in the history so a continuation resumes there. */
export interface StepProgress {
  readonly progress: string | undefined;
  save(progress: string): Promise<void>;
}

export interface RestoreTarget {
  readonly host: BackupHost;
  readonly dir: string;
  readonly manifest: BackupManifest;
  readonly rollbackId: string;
  readonly signal?: AbortSignal;
}

/** The path what is there now is kept under until the restore verifies. */
export function asidePath(path: string, rollbackId: string): string {
  return `${path.replace(/\/+$/, '')}.upgradekit-aside-${rollbackId}`;
}

function failed(message: string, context: Record<string, unknown>): UpgradeKitError {
  return new UpgradeKitError(ErrorCodes.ROLLBACK_FAILED, message, { context });
}

/**
 * Puts `path` aside once (a rename, instant and on the same file system), then empties the place
 * for the restore. Safe to repeat: with the aside already there, what is at `path` is a partial
 * restore of ours and goes.
 */
async function clearForRestore(host: BackupHost, path: string, rollbackId: string): Promise<void> {
  const aside = asidePath(path, rollbackId);
  const present = await host.existing([path, aside]);
  if (present.has(aside)) {
    if (present.has(path)) await host.remove(path);
  } else if (present.has(path)) await host.rename(path, aside);
}

/** Step 3: the program directory, from its archive; verified against the archive's listing. */
export async function restoreProgramDir(target: RestoreTarget, entry: ProgramBackupFile): Promise<void> {
  const { host, rollbackId } = target;
  const archive = fileInBackup(target.dir, entry.file, target.manifest.backup_id);
  const path = entry.source_path;
  await clearForRestore(host, path, rollbackId);
  await host.extractArchive(archive, path, target.signal);
  const problems = await host.compareArchive(archive, path);
  if (problems.length) {
    throw failed(
      `the restored program directory ${path} on ${host.name} does not match the backup: ${problems.slice(0, 5).join('; ')}`,
      { path, problems: problems.slice(0, 20) },
    );
  }
}

/** Step 4: each configuration path put aside, then the archive extracted under its root and compared. */
export async function restoreConfig(target: RestoreTarget, entry: ConfigBackupFile): Promise<void> {
  const { host, rollbackId } = target;
  const archive = fileInBackup(target.dir, entry.file, target.manifest.backup_id);
  for (const path of entry.config_paths) await clearForRestore(host, path, rollbackId);
  await host.extractArchive(archive, entry.config_root, target.signal);
  const problems = await host.compareArchive(archive, entry.config_root);
  if (problems.length) {
    throw failed(
      `the restored configuration on ${host.name} does not match the backup: ${problems.slice(0, 5).join('; ')}`,
      {
        problems: problems.slice(0, 20),
      },
    );
  }
}

/**
 * Step 2, one database: what is there goes aside (renamed, not copied), the dump is loaded, and
 * the table count must equal the one recorded at backup time. Progress `aside` means the original
 * is safe, so a continuation only loads again.
 */
export async function restoreDatabase(
  target: RestoreTarget,
  entry: DatabaseBackupFile,
  spec: ValidDatabaseSpec,
  step: StepProgress,
): Promise<void> {
  const { host, rollbackId } = target;
  const dump = fileInBackup(target.dir, entry.file, target.manifest.backup_id);
  const aside = asideName(spec, rollbackId);
  if (step.progress !== 'aside') {
    await moveDatabaseAside(host, spec, aside);
    await step.save('aside');
  }
  target.signal?.throwIfAborted();
  await loadDump(host, spec, dump, target.signal);
  const tables = await countTables(host, spec);
  if (tables !== entry.tables) {
    throw failed(
      `database ${spec.database} on ${host.name} has ${tables} tables after the restore, the backup recorded ${entry.tables}`,
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

/**
 * Logs and temporary files are not in the backup (seed 004 §4.4.1.1), but they are what explains
 * why a rollback was needed: move them from the pre-rollback copy into the restored directory
 * rather than delete them with it. Repeatable: what already moved is not there to move again.
 */
async function carryOver(
  host: BackupHost,
  from: string,
  to: string,
  excludes: readonly string[],
): Promise<void> {
  const excluded = excludeMatcher(excludes);
  const top: string[] = [];
  for (const rel of await host.walk(from)) {
    if (excluded(rel) && !top.some((m) => rel.startsWith(`${m}/`))) top.push(rel);
  }
  await host.moveMissing(from, to, top);
}

/** After verification: the pre-rollback copies go (logs and temp files carried over first). */
export async function removeAsides(
  target: RestoreTarget,
  databases: readonly ValidDatabaseSpec[],
): Promise<string[]> {
  const { host, manifest, rollbackId } = target;
  const removed: string[] = [];
  // Databases and directories go at the same time: dropping and unlinking are both slow on big data.
  const dropDatabases = async () => {
    for (const spec of databases) {
      const aside = asideName(spec, rollbackId);
      if (await dropAside(host, spec, aside)) removed.push(`database ${aside}`);
    }
  };
  const removeFiles = async () => {
    for (const entry of Object.values(manifest.backup_files)) {
      const paths =
        entry.kind === 'program_directory'
          ? [entry.source_path]
          : entry.kind === 'system_config'
            ? entry.config_paths
            : [];
      const present = await host.existing(paths.map((p) => asidePath(p, rollbackId)));
      for (const path of paths) {
        const aside = asidePath(path, rollbackId);
        if (!present.has(aside)) continue;
        if (entry.kind === 'program_directory') await carryOver(host, aside, path, entry.excludes);
        await host.remove(aside);
        removed.push(aside);
      }
    }
  };
  await Promise.all([dropDatabases(), removeFiles()]);
  return removed;
}

/** The pre-rollback copies still there (for `status` and for an operator undoing by hand). */
export async function listAsides(target: RestoreTarget): Promise<string[]> {
  const { host, manifest, rollbackId } = target;
  const found: string[] = [];
  for (const entry of Object.values(manifest.backup_files)) {
    const paths =
      entry.kind === 'program_directory'
        ? [entry.source_path]
        : entry.kind === 'system_config'
          ? entry.config_paths
          : [];
    found.push(...(await host.existing(paths.map((p) => asidePath(p, rollbackId)))));
  }
  return found.map((p) => posix.normalize(p));
}
