import type { RollbackRecord } from '../state/index.js';
import { asideName, dropAside, type ValidDatabaseSpec } from './databases.js';
import { excludeMatcher } from './exclude.js';
import type { BackupHost } from './host.js';
import type { BackupManifest } from './manifest.js';
import { parsePathProgress, putBackCommand } from './restore-path.js';

/** A pre-rollback copy the rollback keeps until step 6 verifies the restore. */
export interface KeptCopy {
  readonly kind: 'path' | 'database';
  /** The path, or the database's name. */
  readonly original: string;
  /** Where the pre-rollback copy is: a path beside the original, or a database's name. */
  readonly aside: string;
  readonly host: string;
  /** For a path: the shell command that puts the pre-rollback copy back (the restored one is moved beside it, not deleted). */
  readonly putBack?: string;
}

/**
 * Logs and temporary files are not in the backup (seed 004 §4.4.1.1), but they are what explains
 * why a rollback was needed: they move from the pre-rollback copy into the restored directory
 * rather than go with it. Directories both have are merged, and a file both have (a log the
 * restored version wrote since) stays, with the old one beside it as `<name>.pre-<rollbackId>`.
 * Repeatable: what already moved is not there to move again.
 */
export async function carryOver(
  host: BackupHost,
  from: string,
  to: string,
  excludes: readonly string[],
  rollbackId: string,
): Promise<string[]> {
  const excluded = excludeMatcher(excludes);
  const top: string[] = [];
  for (const rel of await host.walk(from)) {
    if (excluded(rel) && !top.some((m) => rel.startsWith(`${m}/`))) top.push(rel);
  }
  return host.moveInto(from, to, top, `.pre-${rollbackId}`);
}

/**
 * A database's step-2 progress: `moving:<aside>` (about to move aside, under that name),
 * `aside:<aside>` (moved), `none` (there was nothing to keep); `aside` alone is what earlier
 * versions wrote, with the one name they used.
 */
export function recordedAside(
  progress: string | undefined,
  database: string,
  rollbackId: string,
): { name: string; moved: boolean } | undefined {
  if (progress === 'aside') return { name: asideName({ database }, rollbackId), moved: true };
  const match = /^(moving|aside):(.+)$/.exec(progress ?? '');
  return match ? { name: match[2]!, moved: match[1] === 'aside' } : undefined;
}

function databaseProgress(record: RollbackRecord): Record<string, string> {
  const progress = record.steps[2]?.progress;
  return progress?.startsWith('{') ? (JSON.parse(progress) as Record<string, string>) : {};
}

/** The databases' pre-rollback copies step 2 recorded: item name → aside name. */
export function keptDatabases(
  record: RollbackRecord,
  manifest: BackupManifest,
): { item: string; database: string; aside: string }[] {
  return Object.entries(databaseProgress(record)).flatMap(([item, progress]) => {
    const entry = manifest.backup_files[item];
    if (entry?.kind !== 'database') return [];
    const aside = recordedAside(progress, entry.database, record.rollbackId);
    return aside ? [{ item, database: entry.database, aside: aside.name }] : [];
  });
}

/** The paths' pre-rollback copies steps 3 and 4 recorded: path → aside. */
export function keptPaths(record: RollbackRecord): { path: string; aside: string; step: 3 | 4 }[] {
  return ([3, 4] as const).flatMap((step) =>
    Object.entries(parsePathProgress(record.steps[step]?.progress)).flatMap(([path, state]) =>
      state.aside ? [{ path, aside: state.aside, step }] : [],
    ),
  );
}

/**
 * What the rollback keeps aside now: recorded paths still on disk, and recorded databases until
 * step 6 has dropped them. Each is named with where it is; a path also with the command that
 * puts it back.
 */
export async function keptCopies(
  host: BackupHost,
  record: RollbackRecord,
  manifest: BackupManifest,
): Promise<KeptCopy[]> {
  const paths = keptPaths(record);
  const present = await host.existing(paths.map((p) => p.aside));
  const verified = record.steps[6]?.status === 'succeeded';
  return [
    ...paths
      .filter((p) => present.has(p.aside))
      .map(
        (p): KeptCopy => ({
          kind: 'path',
          original: p.path,
          aside: p.aside,
          host: host.name,
          putBack: putBackCommand(p.path, p.aside, record.rollbackId),
        }),
      ),
    ...(verified ? [] : keptDatabases(record, manifest)).map(
      (d): KeptCopy => ({ kind: 'database', original: d.database, aside: d.aside, host: host.name }),
    ),
  ];
}

/**
 * Step 6, after verification: the pre-rollback copies this rollback recorded go (logs and
 * temporary files carried over first). Only recorded copies: one with the same name that another
 * rollback left is that rollback's, and stays.
 */
export async function removeAsides(
  host: BackupHost,
  record: RollbackRecord,
  manifest: BackupManifest,
  databases: readonly ValidDatabaseSpec[],
): Promise<string[]> {
  const removed: string[] = [];
  const program = Object.values(manifest.backup_files).find((e) => e.kind === 'program_directory');
  // Databases and directories go at the same time: dropping and unlinking are both slow on big data.
  const dropDatabases = async () => {
    for (const kept of keptDatabases(record, manifest)) {
      const spec = databases.find((d) => d.name === kept.item);
      if (spec && (await dropAside(host, spec, kept.aside))) removed.push(`database ${kept.aside}`);
    }
  };
  const removeFiles = async () => {
    const paths = keptPaths(record);
    const present = await host.existing(paths.map((p) => p.aside));
    for (const { path, aside, step } of paths) {
      if (!present.has(aside)) continue;
      if (step === 3 && program?.kind === 'program_directory')
        await carryOver(host, aside, path, program.excludes, record.rollbackId);
      await host.remove(aside);
      removed.push(aside);
    }
  };
  await Promise.all([dropDatabases(), removeFiles()]);
  return removed;
}
