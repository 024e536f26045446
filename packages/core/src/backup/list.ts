import { posix } from 'node:path';
import { z } from 'zod';
import { isUpgradeKitError } from '../errors/index.js';
import { anObject, checkArguments } from '../options/index.js';
import type { BackupHost } from './host.js';
import { BACKUP_ID } from './ids.js';
import { type BackupManifest, MANIFEST_FILE, PARTIAL_MARKER, parseManifest } from './manifest.js';
import { verifyBackup } from './verify.js';

export interface BackupSummary {
  readonly backupId: string;
  readonly dir: string;
  /** `ready`: manifest complete; `partial`: never finished; `invalid`: the manifest does not parse. */
  readonly status: 'ready' | 'partial' | 'invalid';
  readonly timestamp?: string;
  readonly versionFrom?: string;
  readonly versionTo?: string;
  readonly component?: string;
  readonly site?: string;
  readonly manifest?: BackupManifest;
  readonly reason?: string;
}

/**
 * The backups under `root`, newest first, from their manifests (quick: no checksums; use
 * `verifyBackup` for that). A directory without a manifest is `partial`.
 *
 * @example
 * for (const b of await listBackups(new LocalHost(), '/backup')) console.log(b.backupId, b.status);
 */
const HOST_ROOT = {
  host: anObject('a backup host (LocalHost or RemoteHost)'),
  root: z.string().min(1, 'must be the backup root directory'),
};

export async function listBackups(host: BackupHost, root: string): Promise<BackupSummary[]> {
  checkArguments('listBackups', HOST_ROOT, { host, root });
  const names = (await host.list(root))
    .filter((n) => BACKUP_ID.test(n))
    .sort()
    .reverse();
  const out: BackupSummary[] = [];
  for (const backupId of names) {
    const dir = posix.join(root, backupId);
    const manifestPath = posix.join(dir, MANIFEST_FILE);
    if (!(await host.exists(manifestPath))) {
      out.push({ backupId, dir, status: 'partial', reason: 'no manifest: the backup never finished' });
      continue;
    }
    try {
      const manifest = parseManifest(await host.readText(manifestPath), manifestPath);
      out.push({
        backupId,
        dir,
        status: 'ready',
        timestamp: manifest.timestamp,
        versionFrom: manifest.version_from,
        versionTo: manifest.version_to,
        component: manifest.component,
        site: manifest.site,
        manifest,
      });
    } catch (error) {
      if (!isUpgradeKitError(error)) throw error;
      out.push({ backupId, dir, status: 'invalid', reason: error.message });
    }
  }
  return out;
}

export interface BackupMatch {
  readonly component: string;
  readonly site: string;
  readonly versionFrom?: string;
  readonly versionTo?: string;
}

function matches(summary: BackupSummary, match: BackupMatch): boolean {
  return (
    summary.status === 'ready' &&
    summary.component === match.component &&
    summary.site === match.site &&
    (match.versionFrom === undefined || summary.versionFrom === match.versionFrom) &&
    (match.versionTo === undefined || summary.versionTo === match.versionTo)
  );
}

/**
 * The newest backup of this component and site (and versions, when given) that verifies in full —
 * what a retried backup step looks for before doing the work again (seed 004 §4.2.3.3).
 *
 * @example
 * const done = await findVerifiedBackup(host, '/backup', { component: 'app', site: 's1', versionFrom: '2.1.0', versionTo: '2.2.0' });
 */
export async function findVerifiedBackup(
  host: BackupHost,
  root: string,
  match: BackupMatch,
): Promise<BackupSummary | undefined> {
  checkArguments(
    'findVerifiedBackup',
    { ...HOST_ROOT, match: anObject('{ component, site, … }') },
    { host, root, match },
  );
  for (const summary of await listBackups(host, root)) {
    if (!matches(summary, match)) continue;
    if ((await verifyBackup(host, root, summary.backupId)).ok) return summary;
  }
  return undefined;
}

/**
 * Removes backups of this component and site that never finished (a partial marker and no
 * manifest) — what a retry does before starting again. Returns the ids removed.
 *
 * @example
 * const removed = await removePartialBackups(new LocalHost(), '/backup', { component: 'app', site: 's1' });
 */
export async function removePartialBackups(
  host: BackupHost,
  root: string,
  match: Pick<BackupMatch, 'component' | 'site'>,
): Promise<string[]> {
  checkArguments(
    'removePartialBackups',
    { ...HOST_ROOT, match: anObject('{ component, site }') },
    { host, root, match },
  );
  const removed: string[] = [];
  for (const summary of await listBackups(host, root)) {
    if (summary.status !== 'partial') continue;
    const marker = posix.join(summary.dir, PARTIAL_MARKER);
    if (!(await host.exists(marker))) continue; // not ours to judge
    let owner: { component?: string; site?: string } = {};
    try {
      owner = JSON.parse(await host.readText(marker));
    } catch {
      // A marker cut off mid-write still marks a partial backup of whoever wrote it; match by dir only.
    }
    if (owner.component !== undefined && (owner.component !== match.component || owner.site !== match.site))
      continue;
    await host.remove(summary.dir);
    removed.push(summary.backupId);
  }
  return removed;
}
