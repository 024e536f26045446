import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { z } from 'zod';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { validateOptions } from '../options/index.js';
import type { CommandRunner } from '../service/index.js';
import { isCommandRunner } from '../service/internal.js';
import { compareVersions } from '../version/index.js';

// One exec, fixed text, values as positional parameters. `current` is replaced by renaming a
// fresh symlink over it (rename(2) is atomic), so a reader sees the old release or the new one,
// never a missing link. `previous` remembers where `current` pointed, for switching back.
const SWITCH = `root=$1; version=$2; tag=$3
cd -- "$root" || exit 90
[ -d "releases/$version" ] || exit 91
old=$(readlink current 2>/dev/null || true)
if [ -n "$old" ] && [ "$old" != "releases/$version" ]; then
  ln -sfn -- "$old" ".previous.$tag" && mv -Tf -- ".previous.$tag" previous || exit 92
fi
ln -sfn -- "releases/$version" ".current.$tag" || exit 93
mv -Tf -- ".current.$tag" current || { rm -f -- ".current.$tag"; exit 94; }
printf '%s\\n' "$old"`;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

const schema = z.object({
  root: z
    .string()
    .refine((r) => r.startsWith('/') && r !== '/' && posix.normalize(r) === r && !r.endsWith('/'), {
      message:
        'must be a normalised absolute directory such as /opt/app (not /, no trailing slash, no . or ..)',
    }),
  // Required, even for local use: an undefined connection must not quietly switch this machine.
  runner: z.custom<CommandRunner>(
    isCommandRunner,
    'must be a CommandRunner (localRunner() or an SshSession)',
  ),
  /** Releases kept by `prune()`, besides the current and previous ones. Default 5. */
  keep: z.number().int().min(1, 'must be at least 1').default(5),
});

export type BlueGreenOptions = z.input<typeof schema>;

export interface SwitchResult {
  readonly host: string;
  /** The release `current` pointed at before, if any. */
  readonly from?: string;
  readonly to: string;
}

/**
 * Release names become path segments: one segment, no `..`, nothing a shell or `rm` could misread.
 * Throws `UPGRADEKIT_BAD_INPUT` otherwise — use it to check a CLI argument early.
 *
 * @example
 * assertReleaseName('V2.16.7-P1', '--release'); // fine
 * assertReleaseName('../etc', '--release');     // throws: not a valid release name
 */
export function assertReleaseName(version: string, where: string): void {
  if (typeof version !== 'string' || !NAME.test(version) || version.includes('..')) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `${where}: release ${JSON.stringify(version)} is not a valid release name; use letters, digits and ._+- (such as 2.16.7 or V2.16.7-P1), starting with a letter or digit`,
      { context: { where, version } },
    );
  }
}

/**
 * Blue-green (Capistrano-style) releases on a host: `<root>/releases/<version>` directories and a
 * `<root>/current` symlink switched atomically; switching back to the previous release is the
 * rollback. Works locally or over SSH through any `CommandRunner`.
 *
 * @example
 * const app = new BlueGreen({ root: '/opt/app', runner: ssh, keep: 3 });
 * const dir = await app.prepare('2.4.0');       // upload the new version into dir
 * await app.switchTo('2.4.0');                   // current → releases/2.4.0
 * await app.switchBack();                        // rollback: current → releases/2.3.0
 */
export class BlueGreen {
  readonly root: string;
  readonly keep: number;
  readonly #runner: CommandRunner;

  constructor(options: BlueGreenOptions) {
    const o = validateOptions('BlueGreen', schema, options);
    this.root = o.root;
    this.keep = o.keep;
    this.#runner = o.runner as CommandRunner;
  }

  /** `<root>/releases/<version>`. */
  releasePath(version: string): string {
    assertReleaseName(version, 'BlueGreen.releasePath');
    return `${this.root}/releases/${version}`;
  }

  async #run(argv: string[], what: string): Promise<string> {
    const result = await this.#runner.exec(argv);
    if (result.code !== 0) {
      throw new UpgradeKitError(
        ErrorCodes.SERVICE,
        `BlueGreen: cannot ${what} under ${this.root} on ${this.#runner.host}: ${result.stderr.trim() || `exit ${result.code}`}`,
        { context: { host: this.#runner.host, root: this.root } },
      );
    }
    return result.stdout;
  }

  /** Creates the release directory (and the layout) and returns its path; upload into it. */
  async prepare(version: string): Promise<string> {
    const path = this.releasePath(version);
    await this.#run(['mkdir', '-p', '--', path], `create ${path}`);
    return path;
  }

  /** Release names, oldest version first. */
  async releases(): Promise<string[]> {
    const result = await this.#runner.exec(['ls', '-1A', '--', `${this.root}/releases`]);
    if (result.code !== 0) return [];
    const names = result.stdout.split('\n').filter((n) => NAME.test(n) && !n.includes('..'));
    return names.sort(byVersion);
  }

  async #link(name: 'current' | 'previous'): Promise<string | undefined> {
    const result = await this.#runner.exec(['readlink', '--', `${this.root}/${name}`]);
    if (result.code !== 0) return undefined;
    return releaseOf(result.stdout.trim());
  }

  /** The release `current` points at, or undefined before the first switch. */
  current(): Promise<string | undefined> {
    return this.#link('current');
  }

  /** The release `current` pointed at before the last switch: where `switchBack()` goes. */
  previous(): Promise<string | undefined> {
    return this.#link('previous');
  }

  /** Points `current` at `releases/<version>` atomically; the old target becomes `previous`. */
  async switchTo(version: string): Promise<SwitchResult> {
    assertReleaseName(version, 'BlueGreen.switchTo');
    const tag = randomBytes(6).toString('hex');
    const result = await this.#runner.exec(['sh', '-c', SWITCH, 'switch', this.root, version, tag]);
    if (result.code !== 0) {
      const why =
        result.code === 90
          ? `${this.root} does not exist`
          : result.code === 91
            ? `release ${version} is not there (${this.releasePath(version)}); prepare() it first`
            : result.stderr.trim() || `exit ${result.code}`;
      throw new UpgradeKitError(
        ErrorCodes.SERVICE,
        `BlueGreen: cannot switch ${this.root} to ${version} on ${this.#runner.host}: ${why}`,
        {
          context: { host: this.#runner.host, root: this.root, version },
        },
      );
    }
    const from = releaseOf(result.stdout.trim());
    return { host: this.#runner.host, ...(from ? { from } : {}), to: version };
  }

  /** The rollback: points `current` back at the previous release. */
  async switchBack(): Promise<SwitchResult> {
    const previous = await this.previous();
    if (!previous) {
      throw new UpgradeKitError(
        ErrorCodes.SERVICE,
        `BlueGreen: nothing to switch back to under ${this.root} on ${this.#runner.host}: there is no previous release`,
        { context: { host: this.#runner.host, root: this.root } },
      );
    }
    return this.switchTo(previous);
  }

  /** Removes the oldest releases beyond `keep`, never the current or previous one. Returns what it removed. */
  async prune(keep = this.keep): Promise<string[]> {
    const [all, current, previous] = await Promise.all([this.releases(), this.current(), this.previous()]);
    const protectedNames = new Set([current, previous].filter((n): n is string => n !== undefined));
    const candidates = all.filter((n) => !protectedNames.has(n));
    const room = Math.max(0, keep - protectedNames.size);
    const remove = candidates.slice(0, Math.max(0, candidates.length - room));
    for (const name of remove)
      await this.#run(['rm', '-rf', '--', this.releasePath(name)], `remove release ${name}`);
    return remove;
  }
}

function releaseOf(target: string): string | undefined {
  const match = /^releases\/([^/]+)$/.exec(target);
  return match ? match[1] : undefined;
}

function byVersion(a: string, b: string): number {
  try {
    return compareVersions(a, b);
  } catch {
    return a < b ? -1 : a > b ? 1 : 0;
  }
}
