import { posix } from 'node:path';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';

/** `backup_20240101_120000` (seed 004 §4.4.1.1), with `_2`, `_3`… when two start in the same second. */
export const BACKUP_ID = /^backup_\d{8}_\d{6}(?:_\d{1,4})?$/;

/** The seed's id for a moment, in UTC so ids sort the same on every host. */
export function backupIdFor(date: Date, sequence = 1): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const stamp = `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}_${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`;
  return sequence > 1 ? `backup_${stamp}_${sequence}` : `backup_${stamp}`;
}

/** Throws a clear error for anything that is not a backup id — ids arrive from command lines. */
export function assertBackupId(id: string): string {
  if (typeof id !== 'string' || !BACKUP_ID.test(id)) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `${JSON.stringify(id)} is not a backup id; expected the form backup_YYYYMMDD_HHMMSS (see \`rollback list\`)`,
      { context: { backupId: id } },
    );
  }
  return id;
}

/**
 * Joins a file name from a manifest onto a backup directory. Manifest entries are plain file
 * names; anything with a separator, `..` or a leading dot-dot could point outside the backup, so it
 * is refused — a tampered manifest cannot make a restore read or write elsewhere.
 */
export function fileInBackup(dir: string, file: string, backupId: string): string {
  if (
    typeof file !== 'string' ||
    file === '' ||
    file === '.' ||
    file === '..' ||
    file.includes('/') ||
    file.includes('\\') ||
    file.includes('\0')
  ) {
    throw new UpgradeKitError(
      ErrorCodes.BACKUP_INVALID,
      `backup ${backupId}: the manifest names the file ${JSON.stringify(file)}, which is not a plain file name inside the backup directory; refusing to use it (the manifest may have been edited)`,
      { context: { backupId, file } },
    );
  }
  return posix.join(dir, file);
}

/** True when `path` is `root` or inside it (both absolute, compared after normalising). */
export function isInside(root: string, path: string): boolean {
  const r = posix.normalize(root).replace(/\/+$/, '') || '/';
  const p = posix.normalize(path);
  if (r === '/') return p.startsWith('/');
  return p === r || p.startsWith(`${r}/`);
}

/** An archive member that would land outside its extraction directory. */
export function unsafeMember(name: string): boolean {
  const clean = name.replace(/^\.\//, '');
  return clean.startsWith('/') || clean.split('/').includes('..') || clean.includes('\0');
}
