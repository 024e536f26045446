// LocalHost's archives, through the `tar` package (no system tar needed): create, list, extract
// and compare, hashing on the way where a second read would cost as much as the first.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { excludeMatcher } from './exclude.js';
import type { ArchiveEntry, CreateArchiveOptions, MemberSelection } from './host.js';
import { selectMember } from './members.js';

function entryType(type: string): ArchiveEntry['type'] {
  if (type === 'File' || type === 'OldFile' || type === 'ContiguousFile') return 'file';
  if (type === 'Directory') return 'directory';
  if (type === 'SymbolicLink') return 'symlink';
  return 'other';
}

function entryOf(path: string, entry: { type: string; size?: number | undefined }): ArchiveEntry {
  return { path, type: entryType(entry.type), size: entry.size ?? -1 };
}

/** Passes the bytes on, hashing them on the way: one pass over the data instead of two. */
function hashing(hash: Hash): Transform {
  return new Transform({
    transform(chunk, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
}

export async function createLocalArchive(
  options: CreateArchiveOptions,
): Promise<{ entries: number; sha256: string }> {
  const excluded = excludeMatcher(options.excludes);
  let entries = 0;
  const hash = createHash('sha256');
  const source = tar.c(
    {
      gzip: true,
      cwd: options.cwd,
      portable: true,
      filter: (path) => {
        if (excluded(path)) return false;
        entries++;
        return true;
      },
    },
    [...options.entries],
  );
  await pipeline(source, hashing(hash), createWriteStream(options.file, { mode: 0o600, flags: 'wx' }), {
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { entries, sha256: hash.digest('hex') };
}

export async function listLocalArchive(file: string): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  await tar.t({
    file,
    strict: true,
    onReadEntry: (entry) => {
      entries.push(entryOf(entry.path, entry));
    },
  });
  return entries;
}

/** One read for both: the bytes are hashed on their way into the archive lister. Throws when the archive is damaged. */
export async function hashAndList(path: string): Promise<{ sha256: string; members: ArchiveEntry[] }> {
  const hash = createHash('sha256');
  const members: ArchiveEntry[] = [];
  await pipeline(
    createReadStream(path, { highWaterMark: 1 << 20 }),
    hashing(hash),
    tar.t({
      strict: true,
      onReadEntry: (entry) => {
        members.push(entryOf(entry.path, entry));
      },
    }) as unknown as NodeJS.WritableStream,
  );
  return { sha256: hash.digest('hex'), members };
}

/** Extracts the selected members into `cwd`; resolves with the members it wrote, where they landed. */
export async function extractLocal(
  file: string,
  cwd: string,
  selection: MemberSelection,
): Promise<ArchiveEntry[]> {
  // The tar package confines members by comparing them with `cwd + '/'`: for `/` that is `//`,
  // and every member fails with "path escaped extraction target". Restores never extract into
  // `/` (restore-path.ts extracts beside each path); say so rather than fail member by member.
  if (resolve(cwd) === '/') {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `refusing to extract ${file} into /: extract into a directory beside the target (select the member with \`member\` and \`strip\`) and rename it into place`,
      { context: { file } },
    );
  }
  await makeDirectory(cwd);
  const members: ArchiveEntry[] = [];
  // preservePaths stays off: absolute and `..` members are refused by the tar package itself,
  // and nothing is written through a symlink.
  await tar.x({
    file,
    cwd,
    strict: true,
    preservePaths: false,
    ...(selection.strip ? { strip: selection.strip } : {}),
    filter: (path, entry) => {
      const landed = selectMember(path, selection);
      if (landed === undefined) return false;
      members.push(entryOf(landed, entry as tar.ReadEntry));
      return true;
    },
  });
  return members;
}

/** The selected members of an archive, where they land under the selection. */
export async function selectedMembers(file: string, selection: MemberSelection): Promise<ArchiveEntry[]> {
  return (await listLocalArchive(file)).flatMap((m) => {
    const landed = selectMember(m.path, selection);
    return landed === undefined ? [] : [{ ...m, path: landed }];
  });
}

/** What differs between `members` and the tree under `cwd`: missing, another size, not a directory. */
export async function compareTree(cwd: string, members: readonly ArchiveEntry[]): Promise<string[]> {
  const problems: string[] = [];
  for (const entry of members) {
    const path = join(cwd, entry.path);
    const found = await lstat(path).catch(() => undefined);
    if (!found) problems.push(`${entry.path}: missing`);
    else if (entry.type === 'file' && found.size !== entry.size)
      problems.push(`${entry.path}: ${found.size} bytes, the backup has ${entry.size}`);
    else if (entry.type === 'directory' && !found.isDirectory())
      problems.push(`${entry.path}: not a directory`);
  }
  return problems;
}

/**
 * `mkdir -p`, with the real reason when it fails: Node's recursive mkdir reports a read-only file
 * system as ENOENT ("no such file or directory"), which sends an operator looking for a missing
 * path. Where the parent exists, a plain mkdir says EROFS or EACCES.
 */
async function makeDirectory(path: string): Promise<void> {
  try {
    await mkdir(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT') throw error;
    await mkdir(path, { recursive: true });
  }
}
