// Which backup a rollback uses, and its manifest: verified in full before anything is restored,
// read as it stands for reports and for the steps that read no backup file.
import { posix } from 'node:path';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { BackupHost } from './host.js';
import { assertBackupId } from './ids.js';
import { listBackups } from './list.js';
import { type BackupManifest, MANIFEST_FILE, parseManifest } from './manifest.js';
import { describeProblems, verifyBackup } from './verify.js';

/** Where the backups are and whose they must be. */
export interface BackupScope {
  readonly host: BackupHost;
  readonly root: string;
  readonly component: string;
  readonly site: string;
  /** When given, the backup's program directory must be this one. */
  readonly programDir?: string | undefined;
}

/** The backup's manifest after full verification; `UPGRADEKIT_BACKUP_INVALID` listing every problem. */
export async function verifiedManifest(
  host: BackupHost,
  root: string,
  backupId: string,
): Promise<BackupManifest> {
  const result = await verifyBackup(host, root, backupId);
  if (!result.ok || !result.manifest) {
    throw new UpgradeKitError(
      ErrorCodes.BACKUP_INVALID,
      `backup ${backupId} on ${host.name} cannot be used for a rollback: ${describeProblems(result)}`,
      { context: { backupId, problems: result.problems } },
    );
  }
  return result.manifest;
}

/** The manifest as it stands, unverified: for reports, never for restoring. */
export async function manifestQuietly(
  host: BackupHost,
  root: string,
  backupId: string,
): Promise<BackupManifest | undefined> {
  const path = posix.join(root, assertBackupId(backupId), MANIFEST_FILE);
  try {
    return parseManifest(await host.readText(path), path);
  } catch {
    return undefined;
  }
}

/** The manifest, parsed but not checked against the files: for steps that read no backup file. */
export async function parsedManifest(
  host: BackupHost,
  root: string,
  backupId: string,
): Promise<BackupManifest> {
  const manifest = await manifestQuietly(host, root, backupId);
  if (manifest) return manifest;
  return verifiedManifest(host, root, backupId); // throws, naming what is wrong
}

/** Resolves `latest` or an id to a backup of this component and site that verifies in full. */
export async function resolveBackup(
  scope: BackupScope,
  backupId: string,
): Promise<{ backupId: string; manifest: BackupManifest }> {
  const { host, component, site, root, programDir } = scope;
  let id = backupId;
  if (backupId === 'latest') {
    const latest = (await listBackups(host, root)).find(
      (b) => b.status === 'ready' && b.component === component && b.site === site,
    );
    if (!latest) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `there is no complete backup of ${component}${site ? ` (site ${site})` : ''} under ${root} on ${host.name}; \`rollback list\` shows what there is`,
        { context: { component, site, root } },
      );
    }
    id = latest.backupId;
  }
  assertBackupId(id);
  const manifest = await verifiedManifest(host, root, id);
  if (manifest.component !== component || manifest.site !== site) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `backup ${id} belongs to ${manifest.component}${manifest.site ? ` (site ${manifest.site})` : ''}, not to ${component}${site ? ` (site ${site})` : ''}`,
      { context: { backupId: id } },
    );
  }
  const program = Object.values(manifest.backup_files).find((e) => e.kind === 'program_directory');
  if (programDir && program?.kind === 'program_directory' && program.source_path !== programDir) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `backup ${id} holds ${program.source_path}, but this rollback is for ${programDir}`,
      { context: { backupId: id } },
    );
  }
  return { backupId: id, manifest };
}
