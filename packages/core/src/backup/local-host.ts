import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type {
  ArchiveEntry,
  ArchiveSummary,
  BackupHost,
  CreateArchiveOptions,
  ExtractOptions,
  FileFacts,
  HostRunResult,
  MemberSelection,
  RunOptions,
} from './host.js';
import {
  compareTree,
  createLocalArchive,
  extractLocal,
  hashAndList,
  listLocalArchive,
  selectedMembers,
} from './local-archive.js';
import { findOnPath, runLocal } from './local-run.js';
import { summarizeMembers } from './members.js';

/**
 * This machine: files through `node:fs`, archives through the `tar` package (no system tar
 * needed), tools spawned with argument vectors and passwords in their environment only.
 *
 * @example
 * const result = await verifyBackup(new LocalHost(), '/backup', 'backup_20240101_120000');
 */
export class LocalHost implements BackupHost {
  readonly name = 'local';
  readonly remote = false;

  run(argv: readonly string[], options: RunOptions = {}): Promise<HostRunResult> {
    return runLocal(argv, options);
  }

  readonly #which = new Map<string, string | undefined>();

  async which(names: readonly string[]): Promise<string | undefined> {
    const key = names.join('\0');
    if (!this.#which.has(key)) this.#which.set(key, findOnPath(names));
    return this.#which.get(key);
  }

  async mkdirPrivate(path: string): Promise<void> {
    await mkdir(path, { recursive: true, mode: 0o700 });
  }

  async exists(path: string): Promise<boolean> {
    return lstat(path).then(
      () => true,
      () => false,
    );
  }

  async existing(paths: readonly string[]): Promise<Set<string>> {
    const found = await Promise.all(paths.map(async (p) => ((await this.exists(p)) ? p : undefined)));
    return new Set(found.filter((p): p is string => p !== undefined));
  }

  async moveInto(
    from: string,
    to: string,
    paths: readonly string[],
    conflictSuffix: string,
  ): Promise<string[]> {
    const moved: string[] = [];
    const merge = async (rel: string): Promise<void> => {
      const source = join(from, rel);
      const target = join(to, rel);
      const there = await lstat(target).catch(() => undefined);
      if (!there) {
        await mkdir(dirname(target), { recursive: true });
        await rename(source, target);
        moved.push(rel);
        return;
      }
      if (there.isDirectory() && (await lstat(source)).isDirectory()) {
        for (const name of await readdir(source)) await merge(join(rel, name));
        return;
      }
      // Both have it: what is in `to` is newer; the older one comes in beside it, not over it.
      let other = `${target}${conflictSuffix}`;
      for (let n = 2; await this.exists(other); n++) other = `${target}${conflictSuffix}-${n}`;
      await rename(source, other);
      moved.push(relative(to, other));
    };
    for (const rel of paths) if (await this.exists(join(from, rel))) await merge(rel);
    return moved;
  }

  async isDirectory(path: string): Promise<boolean> {
    return stat(path).then(
      (s) => s.isDirectory(),
      () => false,
    );
  }

  async size(path: string): Promise<number> {
    return (await stat(path)).size;
  }

  sha256(path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const hash = createHash('sha256');
      createReadStream(path)
        .on('data', (chunk) => hash.update(chunk))
        .on('error', reject)
        .on('end', () => resolve(hash.digest('hex')));
    });
  }

  async inspect(
    path: string,
    tailBytes: number,
    expectSize?: number,
    list?: boolean,
  ): Promise<FileFacts | undefined> {
    const found = await stat(path).catch(() => undefined);
    if (!found) return undefined;
    const tail = await this.tail(path, tailBytes);
    if (expectSize !== undefined && found.size !== expectSize) return { size: found.size, tail };
    if (!list) return { size: found.size, sha256: await this.sha256(path), tail };
    try {
      const { sha256, members } = await hashAndList(path);
      return { size: found.size, sha256, tail, members };
    } catch (error) {
      // Damaged: the hash stopped where the listing did; hash the whole file for the report.
      return { size: found.size, sha256: await this.sha256(path), tail, listError: (error as Error).message };
    }
  }

  async tail(path: string, bytes: number): Promise<string> {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const length = Math.min(bytes, size);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  }

  readText(path: string): Promise<string> {
    return readFile(path, 'utf8');
  }

  async writeTextAtomic(path: string, text: string): Promise<void> {
    const temporary = `${path}.tmp-${process.pid}`;
    const handle = await open(temporary, 'w', 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    // The rename must survive a crash too: sync the directory entry.
    const dir = await open(dirname(path), 'r');
    await dir.sync().catch(() => {});
    await dir.close();
  }

  list(dir: string): Promise<string[]> {
    return readdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
  }

  async walk(dir: string): Promise<string[]> {
    const found = (await readdir(dir, { recursive: true })) as string[];
    return found.sort();
  }

  async rename(from: string, to: string): Promise<void> {
    if (await this.exists(to)) throw new Error(`cannot rename ${from} to ${to}: the target exists`);
    await rename(from, to);
  }

  async remove(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true });
  }

  async chmodPrivate(path: string): Promise<void> {
    await chmod(path, 0o600);
  }

  createArchive(options: CreateArchiveOptions): Promise<{ entries: number; sha256: string }> {
    return createLocalArchive(options);
  }

  listArchive(file: string): Promise<ArchiveEntry[]> {
    return listLocalArchive(file);
  }

  /** Members seen by the last extraction into each directory: the comparison needs no second read. */
  readonly #extracted = new Map<string, ArchiveEntry[]>();

  async summarizeArchive(file: string, lookFor?: string): Promise<ArchiveSummary> {
    return summarizeMembers(await this.listArchive(file), lookFor);
  }

  async extractArchive(file: string, cwd: string, options: ExtractOptions = {}): Promise<void> {
    const { signal, ...selection } = options;
    signal?.throwIfAborted();
    this.#extracted.set(extractedKey(file, cwd, selection), await extractLocal(file, cwd, selection));
  }

  async compareArchive(file: string, cwd: string, selection: MemberSelection = {}): Promise<string[]> {
    const key = extractedKey(file, cwd, selection);
    const members = this.#extracted.get(key) ?? (await selectedMembers(file, selection));
    this.#extracted.delete(key);
    return compareTree(cwd, members);
  }
}

function extractedKey(file: string, cwd: string, selection: MemberSelection): string {
  return [file, cwd, selection.member ?? '', selection.strip ?? 0].join('\0');
}
