import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, existsSync, openSync } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { excludeMatcher } from './exclude.js';
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
import { unsafeMember } from './ids.js';
import { selectMember } from './members.js';

const KEEP = 64 * 1024;

function keepTail(buffer: string, chunk: string): string {
  const joined = buffer + chunk;
  return joined.length > KEEP ? joined.slice(joined.length - KEEP) : joined;
}

function entryType(type: string): ArchiveEntry['type'] {
  if (type === 'File' || type === 'OldFile' || type === 'ContiguousFile') return 'file';
  if (type === 'Directory') return 'directory';
  if (type === 'SymbolicLink') return 'symlink';
  return 'other';
}

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
    return new Promise((resolve, reject) => {
      options.signal?.throwIfAborted();
      // The file itself is the tool's stdin, as `tool < file` would do: the kernel feeds it, not
      // this event loop, which may be busy extracting an archive at the same time. (A tool orphaned
      // by a crash reads on; the restore that continues stops it first — see loadDump.)
      let input: number | undefined;
      try {
        if (options.stdinFile) input = openSync(options.stdinFile, 'r');
      } catch (error) {
        reject(error);
        return;
      }
      const child = spawn(argv[0]!, argv.slice(1), {
        env: { ...process.env, ...options.env },
        stdio: [input ?? 'ignore', 'pipe', 'pipe'],
      });
      if (input !== undefined) closeSync(input);
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (c: string) => {
        stdout = keepTail(stdout, c);
      });
      child.stderr!.setEncoding('utf8').on('data', (c: string) => {
        stderr = keepTail(stderr, c);
      });
      const onAbort = () => child.kill('SIGTERM');
      options.signal?.addEventListener('abort', onAbort, { once: true });
      child.once('error', (error: NodeJS.ErrnoException) => {
        options.signal?.removeEventListener('abort', onAbort);
        if (error.code === 'ENOENT') resolve({ code: 127, stdout, stderr: `${argv[0]}: command not found` });
        else reject(error);
      });
      child.once('close', (code, signal) => {
        options.signal?.removeEventListener('abort', onAbort);
        if (options.signal?.aborted) return reject(options.signal.reason);
        resolve({ code: code ?? (signal ? 128 : null), stdout, stderr });
      });
    });
  }

  readonly #which = new Map<string, string | undefined>();

  async which(names: readonly string[]): Promise<string | undefined> {
    const key = names.join('\0');
    if (!this.#which.has(key)) this.#which.set(key, this.#find(names));
    return this.#which.get(key);
  }

  #find(names: readonly string[]): string | undefined {
    for (const name of names) {
      if (name.includes('/')) {
        if (existsSync(name)) return name;
        continue;
      }
      for (const dir of (process.env.PATH ?? '').split(delimiter)) {
        if (dir && existsSync(join(dir, name))) return join(dir, name);
      }
    }
    return undefined;
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
    // One read for both: the bytes are hashed on their way into the archive lister.
    const hash = createHash('sha256');
    const members: ArchiveEntry[] = [];
    try {
      await pipeline(
        createReadStream(path, { highWaterMark: 1 << 20 }),
        new Transform({
          transform(chunk, _encoding, done) {
            hash.update(chunk);
            done(null, chunk);
          },
        }),
        tar.t({
          strict: true,
          onReadEntry: (entry) => {
            members.push({ path: entry.path, type: entryType(entry.type), size: entry.size ?? -1 });
          },
        }) as unknown as NodeJS.WritableStream,
      );
      return { size: found.size, sha256: hash.digest('hex'), tail, members };
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

  async createArchive(options: CreateArchiveOptions): Promise<{ entries: number; sha256: string }> {
    const excluded = excludeMatcher(options.excludes);
    let entries = 0;
    const hash = createHash('sha256');
    // Hash while writing: one pass over the data instead of two.
    const hasher = new Transform({
      transform(chunk, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
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
    await pipeline(source, hasher, createWriteStream(options.file, { mode: 0o600, flags: 'wx' }), {
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { entries, sha256: hash.digest('hex') };
  }

  async listArchive(file: string): Promise<ArchiveEntry[]> {
    const entries: ArchiveEntry[] = [];
    await tar.t({
      file,
      strict: true,
      onReadEntry: (entry) => {
        entries.push({ path: entry.path, type: entryType(entry.type), size: entry.size ?? -1 });
      },
    });
    return entries;
  }

  /** Members seen by the last extraction into each directory: the comparison needs no second read. */
  readonly #extracted = new Map<string, ArchiveEntry[]>();

  async summarizeArchive(file: string, lookFor?: string): Promise<ArchiveSummary> {
    const members = await this.listArchive(file);
    const unsafe = members.find((m) => unsafeMember(m.path))?.path;
    return {
      count: members.length,
      ...(unsafe ? { unsafe } : {}),
      ...(lookFor ? { found: members.some((m) => m.path === lookFor) } : {}),
    };
  }

  async extractArchive(file: string, cwd: string, options: ExtractOptions = {}): Promise<void> {
    const { signal, ...selection } = options;
    signal?.throwIfAborted();
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
        const e = entry as tar.ReadEntry;
        members.push({ path: landed, type: entryType(e.type), size: e.size ?? -1 });
        return true;
      },
    });
    this.#extracted.set(extractedKey(file, cwd, selection), members);
  }

  async compareArchive(file: string, cwd: string, selection: MemberSelection = {}): Promise<string[]> {
    const problems: string[] = [];
    const key = extractedKey(file, cwd, selection);
    const members =
      this.#extracted.get(key) ??
      (await this.listArchive(file)).flatMap((m) => {
        const landed = selectMember(m.path, selection);
        return landed === undefined ? [] : [{ ...m, path: landed }];
      });
    this.#extracted.delete(key);
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

function extractedKey(file: string, cwd: string, selection: MemberSelection): string {
  return [file, cwd, selection.member ?? '', selection.strip ?? 0].join('\0');
}
