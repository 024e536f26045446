import { posix } from 'node:path';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { anObject, checkArguments } from '../options/index.js';
import type { SshSession } from '../remote/index.js';
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

/** Environment names that carry secrets: never put on a remote command line. */
const SECRET_ENV = /PWD|PASS|SECRET|TOKEN|KEY/i;

// Fixed scripts; user values only ever arrive as positional parameters, quoted by SshSession.
const WITH_STDIN = 'f=$1; shift; exec "$@" < "$f"';
const WRITE_ATOMIC = 'umask 077; printf "%s" "$1" > "$2.tmp" && mv -f "$2.tmp" "$2"';
const WHICH = 'for n; do command -v "$n" && exit 0; done; exit 1';
const EXISTING = 'for p; do if [ -e "$p" ] || [ -L "$p" ]; then printf "%s\\n" "$p"; fi; done';
// Merges directories both sides have; a file both have comes in beside the one there, suffixed.
// Positional parameters are per call in sh, so `merge` may recurse; the loop's list is fixed
// when it starts, so `c` being reused by the inner call does not matter.
const MOVE_INTO = `from=$1; to=$2; sfx=$3; shift 3
there() { [ -e "$1" ] || [ -L "$1" ]; }
merge() {
  if ! there "$to/$1"; then
    mkdir -p "$(dirname "$to/$1")" && mv -T -- "$from/$1" "$to/$1" && printf '%s\\n' "$1" || exit 1
  elif [ -d "$from/$1" ] && [ ! -L "$from/$1" ] && [ -d "$to/$1" ] && [ ! -L "$to/$1" ]; then
    for c in "$from/$1"/* "$from/$1"/.[!.]* "$from/$1"/..?*; do
      there "$c" && merge "$1/\${c##*/}"
    done
  else
    t="$1$sfx"; n=1
    while there "$to/$t"; do n=$((n + 1)); t="$1$sfx-$n"; done
    mv -T -- "$from/$1" "$to/$t" && printf '%s\\n' "$t" || exit 1
  fi
}
for r; do if there "$from/$r"; then merge "$r"; fi; done
exit 0`;
const RENAME =
  'if [ -e "$2" ] || [ -L "$2" ]; then echo "the target exists" >&2; exit 3; fi; mv -T -- "$1" "$2"';
// Listings can be far longer than what comes back over the channel: count and check them there.
const SUMMARY = [
  'f=$1; w=$2; l=$(mktemp) || exit 9',
  'tar --list --gzip --file="$f" > "$l"; rc=$?',
  'if [ $rc -ne 0 ]; then rm -f "$l"; exit $rc; fi',
  'wc -l < "$l"',
  'grep -E -m1 \'^/|(^|/)[.][.](/|$)\' "$l" || echo',
  'if [ -n "$w" ] && grep -qxF -- "$w" "$l"; then echo yes; else echo no; fi',
  'rm -f "$l"',
].join('\n');
const COUNTED = 'umask 077; l=$(mktemp) || exit 9; "$@" > "$l"; rc=$?; wc -l < "$l"; rm -f "$l"; exit $rc';
// One round trip for what verification needs to know about a file.
const INSPECT =
  'f=$1; [ -f "$f" ] || exit 3; s=$(stat -c %s -- "$f") || exit 4; echo "$s"; if [ -z "$3" ] || [ "$3" = "$s" ]; then sha256sum -- "$f" | cut -c1-64; else echo; fi; tail -c "$2" -- "$f" | base64 -w0';

/**
 * A remote host through an `SshSession`: the same operations as locally, done by the host's own
 * coreutils and GNU tar, so nothing large crosses the connection.
 *
 * @example
 * const host = new RemoteHost(await SshSession.connect({ host: '10.0.0.5', username: 'deploy', privateKeyPath }));
 * const backups = await listBackups(host, '/backup');
 */
export class RemoteHost implements BackupHost {
  readonly name: string;
  readonly remote = true;
  readonly #session: SshSession;

  constructor(session: SshSession, name?: string) {
    checkArguments(
      'RemoteHost',
      { session: anObject('a connected SshSession (SshSession.connect)') },
      { session },
    );
    this.#session = session;
    this.name = name ?? session.host;
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<HostRunResult> {
    const env = Object.entries(options.env ?? {});
    // A *path* to a credentials file (PGPASSFILE) is fine; the credential itself is not.
    const secret = env.find(([name]) => SECRET_ENV.test(name) && !/FILE$/i.test(name));
    if (secret) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `refusing to pass ${secret[0]} to ${this.name} on a command line; remote tools take credentials from a file on the host`,
      );
    }
    let command = [...argv];
    if (options.stdinFile) command = ['sh', '-c', WITH_STDIN, 'sh', options.stdinFile, ...command];
    if (env.length) command = ['env', ...env.map(([k, v]) => `${k}=${v}`), ...command];
    const result = await this.#session.exec(command, {
      maxBuffer: 256 * 1024,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { code: result.code, stdout: result.stdout, stderr: result.stderr };
  }

  async #ok(argv: readonly string[], what: string): Promise<string> {
    const result = await this.run(argv);
    if (result.code !== 0) {
      throw new UpgradeKitError(
        ErrorCodes.STEP_FAILED,
        `${what} on ${this.name} failed (exit ${result.code}): ${result.stderr.trim().slice(-500)}`,
        { context: { host: this.name, command: argv[0] } },
      );
    }
    return result.stdout;
  }

  readonly #which = new Map<string, Promise<string | undefined>>();

  which(names: readonly string[]): Promise<string | undefined> {
    const key = names.join('\0');
    let found = this.#which.get(key);
    if (!found) {
      found = this.run(['sh', '-c', WHICH, 'sh', ...names]).then((r) =>
        r.code === 0 ? r.stdout.trim().split('\n')[0] : undefined,
      );
      this.#which.set(key, found);
    }
    return found;
  }

  /** `list` is not done in the same read here: the caller lists with GNU tar separately. */
  async inspect(path: string, tailBytes: number, expectSize?: number): Promise<FileFacts | undefined> {
    const result = await this.run([
      'sh',
      '-c',
      INSPECT,
      'sh',
      path,
      String(tailBytes),
      expectSize === undefined ? '' : String(expectSize),
    ]);
    if (result.code === 3) return undefined;
    if (result.code !== 0) throw new Error(`cannot inspect ${path} on ${this.name}: ${result.stderr.trim()}`);
    const [size = '', sum = '', tail = ''] = result.stdout.split('\n');
    return {
      size: Number(size),
      ...(/^[0-9a-f]{64}$/.test(sum) ? { sha256: sum } : {}),
      tail: Buffer.from(tail, 'base64').toString('utf8'),
    };
  }

  async mkdirPrivate(path: string): Promise<void> {
    await this.#ok(['mkdir', '-p', '-m', '700', '--', path], `mkdir ${path}`);
  }

  async exists(path: string): Promise<boolean> {
    return (await this.run(['sh', '-c', 'test -e "$1" || test -L "$1"', 'sh', path])).code === 0;
  }

  async existing(paths: readonly string[]): Promise<Set<string>> {
    if (paths.length === 0) return new Set();
    const out = await this.#ok(['sh', '-c', EXISTING, 'sh', ...paths], 'test paths');
    return new Set(out.split('\n').filter(Boolean));
  }

  async moveInto(
    from: string,
    to: string,
    paths: readonly string[],
    conflictSuffix: string,
  ): Promise<string[]> {
    if (paths.length === 0) return [];
    const out = await this.#ok(
      ['sh', '-c', MOVE_INTO, 'sh', from, to, conflictSuffix, ...paths],
      `move ${from} into ${to}`,
    );
    return out.split('\n').filter(Boolean);
  }

  async isDirectory(path: string): Promise<boolean> {
    return (await this.run(['test', '-d', path])).code === 0;
  }

  async size(path: string): Promise<number> {
    return Number((await this.#ok(['stat', '-c', '%s', '--', path], `stat ${path}`)).trim());
  }

  async sha256(path: string): Promise<string> {
    const out = await this.#ok(['sha256sum', '--', path], `sha256sum ${path}`);
    return /^[0-9a-f]{64}/.exec(out)?.[0] ?? '';
  }

  async tail(path: string, bytes: number): Promise<string> {
    return this.#ok(['tail', '-c', String(bytes), '--', path], `tail ${path}`);
  }

  async readText(path: string): Promise<string> {
    return this.#ok(['cat', '--', path], `read ${path}`);
  }

  async writeTextAtomic(path: string, text: string): Promise<void> {
    await this.#ok(['sh', '-c', WRITE_ATOMIC, 'sh', text, path], `write ${path}`);
  }

  async list(dir: string): Promise<string[]> {
    const result = await this.run(['ls', '-1A', '--', dir]);
    if (result.code !== 0) return [];
    return result.stdout.split('\n').filter(Boolean);
  }

  async walk(dir: string): Promise<string[]> {
    const out = await this.#ok(['find', dir, '-mindepth', '1', '-printf', '%P\\n'], `find ${dir}`);
    return out.split('\n').filter(Boolean).sort();
  }

  async rename(from: string, to: string): Promise<void> {
    await this.#ok(['sh', '-c', RENAME, 'sh', from, to], `rename ${from} to ${to}`);
  }

  async remove(path: string): Promise<void> {
    await this.#ok(['rm', '-rf', '--', path], `remove ${path}`);
  }

  async chmodPrivate(path: string): Promise<void> {
    await this.#ok(['chmod', '600', '--', path], `chmod ${path}`);
  }

  async createArchive(options: CreateArchiveOptions): Promise<{ entries: number }> {
    const argv = [
      'sh',
      '-c',
      COUNTED,
      'sh',
      'tar',
      '--create',
      '--gzip',
      `--file=${options.file}`,
      `--directory=${options.cwd}`,
      ...options.excludes.map((p) => `--exclude=${p}`),
      '--verbose',
      '--',
      ...options.entries,
    ];
    const out = await this.#ok(argv, `tar ${options.file}`);
    return { entries: Number(out.trim()) };
  }

  async summarizeArchive(file: string, lookFor?: string): Promise<ArchiveSummary> {
    const result = await this.run(['sh', '-c', SUMMARY, 'sh', file, lookFor ?? '']);
    if (result.code !== 0) throw new Error(result.stderr.trim().slice(-500) || `tar exited ${result.code}`);
    const [count = '', unsafe = '', found = ''] = result.stdout.split('\n');
    return {
      count: Number(count.trim()),
      ...(unsafe ? { unsafe } : {}),
      ...(lookFor ? { found: found === 'yes' } : {}),
    };
  }

  async listArchive(file: string): Promise<ArchiveEntry[]> {
    const result = await this.run(['tar', '--list', '--verbose', '--gzip', `--file=${file}`]);
    if (result.code !== 0) throw new Error(result.stderr.trim().slice(-500) || `tar exited ${result.code}`);
    return result.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        // drwx------ user/group 0 2024-01-01 12:00 ./bin/
        const match = /^(\S)\S*\s+\S+\s+(\d+)\s+\S+\s+\S+\s+(.*)$/.exec(line);
        const kind = match?.[1];
        const path = (match?.[3] ?? line).replace(/ -> .*$/, '');
        return {
          path,
          type: kind === 'd' ? 'directory' : kind === '-' ? 'file' : kind === 'l' ? 'symlink' : 'other',
          size: match ? Number(match[2]) : -1,
        } as ArchiveEntry;
      });
  }

  async extractArchive(file: string, cwd: string, options: ExtractOptions = {}): Promise<void> {
    const { signal, ...selection } = options;
    await this.mkdirPrivate(cwd);
    const result = await this.run(
      tarIn(['--extract', '--gzip', '--preserve-permissions'], file, cwd, selection),
      signal ? { signal } : {},
    );
    if (result.code !== 0) {
      throw new Error(
        `tar --extract ${posix.basename(file)} on ${this.name}: ${result.stderr.trim().slice(-500)}`,
      );
    }
  }

  async compareArchive(file: string, cwd: string, selection: MemberSelection = {}): Promise<string[]> {
    // GNU tar's --diff compares every member's type, size, mode and content with the tree.
    const result = await this.run(tarIn(['--diff', '--gzip'], file, cwd, selection));
    if (result.code === 0) return [];
    return `${result.stdout}\n${result.stderr}`
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/Mod time differs|Uid differs|Gid differs/.test(l));
  }
}

/** GNU tar working on `file`'s members in the tree under `cwd`: extracting or comparing. */
function tarIn(mode: readonly string[], file: string, cwd: string, selection: MemberSelection): string[] {
  return ['tar', ...mode, `--file=${file}`, `--directory=${cwd}`, ...selected(selection)];
}

/** GNU tar's arguments for a selection: the member named after `--`, so it is never an option. */
function selected(selection: MemberSelection): string[] {
  return [
    ...(selection.strip ? [`--strip-components=${selection.strip}`] : []),
    ...(selection.member !== undefined ? ['--', selection.member] : []),
  ];
}
