import { posix } from 'node:path';
import { z } from 'zod';
import { isUpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import { anObject, checkArguments } from '../options/index.js';
import { END_MARKERS } from './databases.js';
import type { ArchiveSummary, BackupHost } from './host.js';
import { assertBackupId, fileInBackup, isInside } from './ids.js';
import { type BackupFile, type BackupManifest, MANIFEST_FILE, parseManifest } from './manifest.js';
import { summarizeMembers } from './members.js';

export interface VerifyProblem {
  /** The manifest entry (`program_directory`, `database_backup`, …) or `manifest`. */
  readonly item: string;
  readonly file?: string;
  readonly reason: string;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly backupId: string;
  readonly dir: string;
  readonly manifest?: BackupManifest;
  readonly problems: readonly VerifyProblem[];
}

async function checkFile(
  host: BackupHost,
  dir: string,
  manifest: BackupManifest,
  item: string,
  entry: BackupFile,
): Promise<VerifyProblem[]> {
  const problem = (reason: string): VerifyProblem[] => [{ item, file: entry.file, reason }];
  let path: string;
  try {
    path = fileInBackup(dir, entry.file, manifest.backup_id);
  } catch (error) {
    return problem(describeError(error).message);
  }
  const archive = entry.kind !== 'database' || entry.engine === 'clickhouse';
  const facts = await host.inspect(path, 512, entry.size, archive);
  if (!facts) return problem('the file is missing');
  if (facts.size !== entry.size) {
    return problem(
      `the file has ${facts.size} bytes, the manifest says ${entry.size}: it was truncated or changed`,
    );
  }
  // Seed 004 §4.2.3.3: the dump's last line says it completed.
  if (
    entry.kind === 'database' &&
    entry.engine !== 'clickhouse' &&
    !END_MARKERS[entry.engine].test(facts.tail)
  ) {
    return problem(
      `the dump does not end with its tool's completion line ("-- Dump completed" / "-- PostgreSQL database dump complete"): it was cut off`,
    );
  }
  if (facts.sha256 !== entry.sha256) {
    return problem(
      `sha256 is ${facts.sha256}, the manifest says ${entry.sha256}: the file was changed after the backup`,
    );
  }
  if (archive) {
    if (facts.listError) return problem(`the archive cannot be read to its end (${facts.listError})`);
    const lookFor = entry.kind === 'database' ? 'tables.json' : undefined;
    let summary: ArchiveSummary;
    try {
      summary = facts.members
        ? summarizeMembers(facts.members, lookFor)
        : await host.summarizeArchive(path, lookFor);
    } catch (error) {
      return problem(`the archive cannot be read to its end (${describeError(error).message})`);
    }
    if (summary.count === 0) return problem('the archive is empty');
    if (summary.unsafe)
      return problem(
        `the archive holds ${JSON.stringify(summary.unsafe)}, which would land outside its directory`,
      );
    if (entry.kind === 'database') {
      if (!summary.found) return problem('the ClickHouse archive has no tables.json');
    } else if (summary.count !== entry.entries) {
      return problem(`the archive lists ${summary.count} members, the manifest says ${entry.entries}`);
    }
  }
  if (entry.kind === 'program_directory' && !posix.isAbsolute(entry.source_path)) {
    return problem(`source_path ${JSON.stringify(entry.source_path)} is not absolute`);
  }
  if (entry.kind === 'system_config') {
    const outside = entry.config_paths.find((p) => !posix.isAbsolute(p) || !isInside(entry.config_root, p));
    if (outside)
      return problem(`config path ${JSON.stringify(outside)} is not inside config_root ${entry.config_root}`);
  }
  return [];
}

/**
 * Checks a backup the way seed 004 §4.4.1.3 asks, and more: the manifest parses, every file is
 * there with its recorded size and sha256, dumps end with their completion line, archives list to
 * their end with the recorded number of safe members. Never throws for a bad backup: the problems
 * say which file is wrong and how.
 *
 * @example
 * const result = await verifyBackup(new LocalHost(), '/backup', 'backup_20240101_120000');
 * if (!result.ok) for (const p of result.problems) console.error(`${p.file}: ${p.reason}`);
 */
export async function verifyBackup(host: BackupHost, root: string, backupId: string): Promise<VerifyResult> {
  checkArguments(
    'verifyBackup',
    {
      host: anObject('a backup host (LocalHost or RemoteHost)'),
      root: z.string().min(1, 'must be the backup root directory'),
      backupId: z.string('must be a backup id (backup_YYYYMMDD_HHMMSS)'),
    },
    { host, root, backupId },
  );
  assertBackupId(backupId);
  const dir = posix.join(root, backupId);
  const fail = (reason: string, manifest?: BackupManifest): VerifyResult => ({
    ok: false,
    backupId,
    dir,
    ...(manifest ? { manifest } : {}),
    problems: [{ item: 'manifest', file: MANIFEST_FILE, reason }],
  });
  const manifestPath = posix.join(dir, MANIFEST_FILE);
  const present = await host.existing([dir, manifestPath]);
  if (!present.has(dir)) return fail(`there is no backup directory ${dir} on ${host.name}`);
  if (!present.has(manifestPath)) {
    return fail('there is no manifest: the backup never finished (it is partial); make a new one');
  }
  let manifest: BackupManifest;
  try {
    manifest = parseManifest(await host.readText(manifestPath), manifestPath);
  } catch (error) {
    if (isUpgradeKitError(error)) return fail(error.message);
    throw error;
  }
  if (manifest.backup_id !== backupId) {
    return fail(`the manifest belongs to ${manifest.backup_id}, not ${backupId}`, manifest);
  }
  if (!manifest.verification_passed)
    return fail('the backup did not pass verification when it was made', manifest);
  // Files are checked at once: hashing a dump and reading an archive overlap.
  const problems = (
    await Promise.all(
      Object.entries(manifest.backup_files).map(([item, entry]) =>
        checkFile(host, dir, manifest, item, entry),
      ),
    )
  ).flat();
  return { ok: problems.length === 0, backupId, dir, manifest, problems };
}

/** One line naming every problem, for errors and logs. */
export function describeProblems(result: VerifyResult): string {
  return result.problems.map((p) => `${p.file ?? p.item}: ${p.reason}`).join('; ');
}
