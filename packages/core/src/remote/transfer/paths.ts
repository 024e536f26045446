import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { ErrorCodes, UpgradeKitError } from '../../errors/index.js';

/** What a file is called on its way: the name it is written to before it verifies. */
export const PART_SUFFIX = '.upgradekit-part';

/** One regular file to transfer: where it is here, where it goes there. */
export interface FileEntry {
  readonly local: string;
  readonly remote: string;
  /** The name shown in progress and results: the base name, or the path inside the directory. */
  readonly label: string;
  readonly size: number;
  readonly mode: number;
  readonly mtimeMs: number;
}

function bad(message: string, context: Record<string, unknown>): UpgradeKitError {
  return new UpgradeKitError(ErrorCodes.BAD_INPUT, message, { context });
}

/**
 * A remote path must be absolute, without `..` segments or NUL: relative paths depend on the
 * remote user's home, and `..` makes "where did it go" a puzzle at 2 a.m.
 */
export function checkRemotePath(where: string, path: unknown): string {
  if (typeof path !== 'string' || path.length === 0)
    throw bad(`${where}: the remote path must be a non-empty string (got ${JSON.stringify(path)})`, { path });
  if (!posix.isAbsolute(path))
    throw bad(
      `${where}: the remote path must be absolute, like /opt/app/pkg.tar (got ${JSON.stringify(path)})`,
      {
        path,
      },
    );
  if (path.includes('\0')) throw bad(`${where}: the remote path contains a NUL byte`, { path });
  if (path.split('/').includes('..'))
    throw bad(`${where}: the remote path must not contain '..' segments (got ${JSON.stringify(path)})`, {
      path,
    });
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

function statOrThrow(where: string, path: string): Stats {
  try {
    return lstatSync(path);
  } catch (error) {
    throw bad(`${where}: ${path} does not exist or cannot be read (${(error as Error).message})`, { path });
  }
}

/**
 * The regular files under a local file or directory, with their remote destinations. Symbolic
 * links and special files are refused before anything is sent, rather than silently skipped or
 * followed out of the tree.
 */
export function planFiles(
  where: string,
  localPath: string,
  remotePath: string,
): { entries: FileEntry[]; directory: boolean } {
  const root = resolve(localPath);
  const top = statOrThrow(where, root);
  const entry = (local: string, remote: string, label: string, stats: Stats): FileEntry => ({
    local,
    remote,
    label,
    size: stats.size,
    mode: stats.mode & 0o7777,
    mtimeMs: stats.mtimeMs,
  });
  if (top.isFile())
    return { entries: [entry(root, remotePath, posix.basename(remotePath), top)], directory: false };
  if (!top.isDirectory())
    throw bad(`${where}: ${localPath} is neither a regular file nor a directory`, { path: localPath });
  const entries: FileEntry[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const local = join(dir, name);
      const relative = rel ? `${rel}/${name}` : name;
      const stats = statOrThrow(where, local);
      if (stats.isDirectory()) walk(local, relative);
      else if (stats.isFile()) entries.push(entry(local, posix.join(remotePath, relative), relative, stats));
      else
        throw bad(
          `${where}: ${local} is a ${stats.isSymbolicLink() ? 'symbolic link' : 'special file'}; only regular files and directories are uploaded — replace it with the file it points to, or remove it`,
          { path: local },
        );
    }
  };
  walk(root, '');
  return { entries, directory: true };
}
