import { posix } from 'node:path';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import { commandLine } from '../events/index.js';
import type { BackupHost } from './host.js';
import { stripFor } from './members.js';

/** Where the restore of one path stands, saved in the step's progress before and after each rename. */
export interface PathState {
  /** Where what was there before the rollback went; absent when nothing was there. */
  readonly aside?: string;
  /** `moving`: about to go aside; `aside`: gone aside, the restore not yet in place; `restored`: done. */
  readonly state: 'moving' | 'aside' | 'restored';
}

/** A step's progress over its paths: path → state. */
export type PathProgress = Record<string, PathState>;

export function parsePathProgress(progress: string | undefined): PathProgress {
  if (!progress?.startsWith('{')) return {};
  return JSON.parse(progress) as PathProgress;
}

/** The default place what is there now is kept until the restore verifies. */
export function asidePath(path: string, rollbackId: string): string {
  return `${path.replace(/\/+$/, '')}.upgradekit-aside-${rollbackId}`;
}

/** Where the restore is written before it is renamed into place: beside the path, on its file system. */
export function stagingPath(path: string, rollbackId: string): string {
  return `${path.replace(/\/+$/, '')}.upgradekit-restore-${rollbackId}`;
}

/** A command that puts the pre-rollback copy back by hand; the restored copy is moved beside it, not deleted. */
export function putBackCommand(path: string, aside: string, rollbackId: string): string {
  return `${commandLine(['mv', '-T', '--', path, `${path}.upgradekit-restored-${rollbackId}`])} && ${commandLine(['mv', '-T', '--', aside, path])}`;
}

export interface PathRestore {
  readonly host: BackupHost;
  readonly archive: string;
  /** The absolute path to restore. */
  readonly path: string;
  /** The archive path of `path`; absent when the whole archive is `path`'s content. */
  readonly member?: string;
  readonly rollbackId: string;
  readonly signal?: AbortSignal;
  /** What an earlier attempt of this step recorded for `path`. */
  readonly recorded?: PathState;
  /** Records the state (undefined: nothing of this rollback is left at or beside `path`). */
  save(state: PathState | undefined): Promise<unknown>;
}

/** `<what>: <cause>; <outcome>` — the outcome says where the path's copies are now. */
function failed(job: PathRestore, what: string, cause: unknown, outcome: string, aside?: string) {
  return new UpgradeKitError(
    ErrorCodes.ROLLBACK_FAILED,
    `${what}: ${describeError(cause).message}; ${outcome}`,
    { cause, context: { host: job.host.name, path: job.path, ...(aside ? { aside } : {}) } },
  );
}

/**
 * The first name beside `path` that nothing has: a copy kept by another rollback is never reused.
 * `taken` says whether the default name is (checked with the other paths, in one round trip).
 */
async function freeAside(
  host: BackupHost,
  path: string,
  rollbackId: string,
  taken: boolean,
): Promise<string> {
  const base = asidePath(path, rollbackId);
  if (!taken) return base;
  for (let n = 2; ; n++) {
    const candidate = `${base}-${n}`;
    if (!(await host.exists(candidate))) return candidate;
  }
}

/**
 * Restores one path from an archive without a moment where a failure leaves it half-written or
 * gone: the archive's part for it is extracted and checked beside it (same directory, so same
 * file system), then what is there is renamed aside and the restore renamed into place. A
 * failure before the renames changes nothing at `path`; one between them puts the aside copy
 * back, or — if even that fails — says where it is and how to put it back.
 *
 * Extracting beside each path also means the tar package never extracts into `/` itself, which
 * it cannot do (its confinement check refuses every member there), and no member outside
 * `member` is ever written.
 */
export async function restorePath(job: PathRestore): Promise<PathState> {
  const { host, path, recorded } = job;
  if (recorded?.state === 'restored') return recorded;
  if (recorded?.state === 'aside' && (await host.exists(path))) {
    // An earlier attempt renamed the restore into place and ended before it could record that.
    const done: PathState = { ...(recorded.aside ? { aside: recorded.aside } : {}), state: 'restored' };
    await job.save(done);
    return done;
  }

  const staging = stagingPath(path, job.rollbackId);
  const selection = job.member === undefined ? {} : { member: job.member, strip: stripFor(job.member) };
  const restored = job.member === undefined ? staging : posix.join(staging, posix.basename(job.member));
  const untouched = (cause: unknown) =>
    failed(job, `could not restore ${path} on ${host.name}`, cause, `nothing was changed at ${path}`);
  let aside = recorded?.aside;
  const fallback = asidePath(path, job.rollbackId);
  let present: Set<string>;
  try {
    await host.remove(staging); // what an interrupted attempt wrote
    await host.extractArchive(job.archive, staging, {
      ...selection,
      ...(job.signal ? { signal: job.signal } : {}),
    });
    const problems = await host.compareArchive(job.archive, staging, selection);
    // One round trip for what comes next too: is the path there, and is the aside name free?
    present = await host.existing([restored, path, aside ?? fallback]);
    if (!present.has(restored)) problems.unshift(`${job.member}: not in the backup`);
    if (problems.length > 0) {
      throw new Error(`the extracted copy does not match the backup: ${problems.slice(0, 5).join('; ')}`);
    }
  } catch (error) {
    await host.remove(staging).catch(() => {});
    throw untouched(error);
  }

  if (recorded?.state !== 'aside') {
    if (present.has(path)) {
      aside ??= await freeAside(host, path, job.rollbackId, present.has(fallback));
      await job.save({ aside, state: 'moving' });
      try {
        await host.rename(path, aside);
      } catch (error) {
        await host.remove(staging).catch(() => {});
        await job.save(undefined);
        throw untouched(error);
      }
    } else if (!(aside && present.has(aside))) aside = undefined;
    await job.save({ ...(aside ? { aside } : {}), state: 'aside' });
  }

  try {
    await host.rename(restored, path);
  } catch (error) {
    throw await putBack(job, aside, staging, error);
  }
  if (restored !== staging) await host.remove(staging);
  const done: PathState = { ...(aside ? { aside } : {}), state: 'restored' };
  await job.save(done);
  return done;
}

/** The restore could not be renamed into place: what was there goes back. */
async function putBack(
  job: PathRestore,
  aside: string | undefined,
  staging: string,
  cause: unknown,
): Promise<UpgradeKitError> {
  const { host, path } = job;
  await host.remove(staging).catch(() => {});
  const what = `could not rename the restored ${path} into place on ${host.name}`;
  if (!aside) {
    await job.save(undefined);
    return failed(job, what, cause, `nothing was there before the rollback, and nothing is now`);
  }
  try {
    await host.rename(aside, path);
    await job.save(undefined);
    return failed(job, what, cause, `what was there before the rollback was put back at ${path}`);
  } catch (again) {
    return failed(
      job,
      what,
      cause,
      `putting back what was there failed too (${describeError(again).message}): it is at ${aside}; to put it back by hand: ${commandLine(['mv', '-T', '--', aside, path])}`,
      aside,
    );
  }
}
