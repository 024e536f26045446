/** One member of an archive, as a listing reports it. `size` is -1 where the lister does not say. */
export interface ArchiveEntry {
  readonly path: string;
  readonly type: 'file' | 'directory' | 'symlink' | 'other';
  readonly size: number;
}

export interface FileFacts {
  readonly size: number;
  /** Absent when the size already differed from the expected one. */
  readonly sha256?: string;
  readonly tail: string;
  /** With `list`, where the host can do it in the same read: the archive's members… */
  readonly members?: readonly ArchiveEntry[];
  /** …or why it could not be listed to its end. */
  readonly listError?: string;
}

/** What verification needs from a listing, without moving the whole listing. */
export interface ArchiveSummary {
  readonly count: number;
  /** The first member that would land outside the extraction directory, if any. */
  readonly unsafe?: string;
  /** Whether the member asked for is there. */
  readonly found?: boolean;
}

export interface HostRunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Extra environment. Locally it carries passwords (`MYSQL_PWD`, `PGPASSWORD`); remotely it must hold no secret. */
  readonly env?: Readonly<Record<string, string>>;
  /** Feed this file (on the same host) to the command's stdin. */
  readonly stdinFile?: string;
  readonly signal?: AbortSignal;
}

/**
 * Part of an archive: the members at or under `member` (an archive path such as `etc/app.conf`),
 * with `strip` leading path components removed, as `tar --strip-components` does.
 */
export interface MemberSelection {
  readonly member?: string;
  readonly strip?: number;
}

export interface ExtractOptions extends MemberSelection {
  readonly signal?: AbortSignal;
}

export interface CreateArchiveOptions {
  /** The archive to write (created `0600`; it must not exist). */
  readonly file: string;
  /** Paths inside the archive are relative to this directory. */
  readonly cwd: string;
  /** What to archive, relative to `cwd` (`.` for all of it). */
  readonly entries: readonly string[];
  readonly excludes: readonly string[];
  readonly signal?: AbortSignal;
}

/**
 * Where a backup is written and restored: this machine, or a remote host through `SshSession`.
 * Everything backup and rollback do to files and tools goes through these few operations, so the
 * two behave the same; every command is an argument vector.
 */
export interface BackupHost {
  /** `local`, or the remote host's name: for messages and history. */
  readonly name: string;
  readonly remote: boolean;
  run(argv: readonly string[], options?: RunOptions): Promise<HostRunResult>;
  /** The first of `names` found on PATH, as a path or name to run. */
  which(names: readonly string[]): Promise<string | undefined>;
  /** Creates a directory (and parents) readable by the owner only. */
  mkdirPrivate(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** Which of `paths` exist (one round trip on a remote host). */
  existing(paths: readonly string[]): Promise<Set<string>>;
  /**
   * Moves each relative path from `from` into `to`, creating parents and merging directories
   * that both have; a file both have stays in `to` and the moved one takes `conflictSuffix`
   * appended (then `-2`, `-3`…). Nothing is overwritten or deleted. One round trip on a remote
   * host. Returns the paths as they are now in `to`.
   */
  moveInto(from: string, to: string, paths: readonly string[], conflictSuffix: string): Promise<string[]>;
  isDirectory(path: string): Promise<boolean>;
  size(path: string): Promise<number>;
  sha256(path: string): Promise<string>;
  /**
   * Size, sha256 and the last `tailBytes` of a file in one go (one round trip on a remote host);
   * undefined when it does not exist. The checksum is skipped when `expectSize` is given and differs.
   */
  inspect(
    path: string,
    tailBytes: number,
    expectSize?: number,
    list?: boolean,
  ): Promise<FileFacts | undefined>;
  /** The last `bytes` of a file, as text. */
  tail(path: string, bytes: number): Promise<string>;
  readText(path: string): Promise<string>;
  /** Writes a small file `0600` through a temporary name and a rename, so it is whole or absent. */
  writeTextAtomic(path: string, text: string): Promise<void>;
  list(dir: string): Promise<string[]>;
  /** Every path under `dir`, relative to it, directories included; parents before children. */
  walk(dir: string): Promise<string[]>;
  /** Renames; fails if `to` exists. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file or a directory tree; absent is fine. */
  remove(path: string): Promise<void>;
  chmodPrivate(path: string): Promise<void>;
  /** Writes a tar.gz; resolves with how many members went in and, when known, its sha256. */
  createArchive(options: CreateArchiveOptions): Promise<{ entries: number; sha256?: string }>;
  /** Lists a tar.gz completely; rejects when it is damaged. Meant for small archives and tests. */
  listArchive(file: string): Promise<ArchiveEntry[]>;
  /** Reads a tar.gz to its end (rejects when damaged) and says how many members, any unsafe one, and whether `lookFor` is there. */
  summarizeArchive(file: string, lookFor?: string): Promise<ArchiveSummary>;
  /** Extracts into `cwd` (created if missing), never outside it: `..` and absolute members are refused. */
  extractArchive(file: string, cwd: string, options?: ExtractOptions): Promise<void>;
  /** What differs between the archive (or the selected part) and `cwd`; empty when they match. */
  compareArchive(file: string, cwd: string, selection?: MemberSelection): Promise<string[]>;
}
