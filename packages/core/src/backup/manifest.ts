import { z } from 'zod';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';

export const MANIFEST_FILE = 'backup_manifest.json';
/** Written when a backup starts and removed when its manifest is in place: its presence means "partial". */
export const PARTIAL_MARKER = '.backup_in_progress.json';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 in hex');
const fileBase = { file: z.string().min(1), size: z.number().int().nonnegative(), sha256 };

const programEntry = z.object({
  kind: z.literal('program_directory'),
  ...fileBase,
  source_path: z.string().min(1),
  excludes: z.array(z.string()),
  entries: z.number().int().nonnegative(),
});

const configEntry = z.object({
  kind: z.literal('system_config'),
  ...fileBase,
  config_root: z.string().min(1),
  config_paths: z.array(z.string().min(1)).min(1),
  entries: z.number().int().nonnegative(),
});

const databaseEntry = z.object({
  kind: z.literal('database'),
  ...fileBase,
  engine: z.enum(['mariadb', 'mysql', 'postgres', 'clickhouse']),
  database: z.string().min(1),
  host: z.string().optional(),
  port: z.number().int().optional(),
  user: z.string().optional(),
  tool: z.string(),
  tables: z.number().int().nonnegative(),
  dump_completed: z.boolean(),
});

export const backupFileSchema = z.discriminatedUnion('kind', [programEntry, configEntry, databaseEntry]);

/**
 * `backup_manifest.json`: seed 004 §4.4.1.3's format, with `sha256` where the seed has `md5`
 * (md5 detects accidents, not tampering) and a `kind` on each entry so a backup can hold several
 * databases. Extra top-level fields say whose backup it is.
 */
export const backupManifestSchema = z.object({
  format: z.literal(1),
  backup_id: z.string(),
  timestamp: z.string(),
  version_from: z.string(),
  version_to: z.string(),
  component: z.string(),
  site: z.string(),
  host: z.string(),
  run_id: z.string().optional(),
  backup_files: z.record(z.string(), backupFileSchema),
  backup_status: z.literal('completed'),
  verification_passed: z.boolean(),
  duration_ms: z.number().nonnegative(),
});

export type BackupManifest = z.infer<typeof backupManifestSchema>;
export type BackupFile = z.infer<typeof backupFileSchema>;
export type DatabaseBackupFile = z.infer<typeof databaseEntry>;
export type ProgramBackupFile = z.infer<typeof programEntry>;
export type ConfigBackupFile = z.infer<typeof configEntry>;

/** Parses a manifest's text; a clear `UPGRADEKIT_BACKUP_INVALID` naming the field when it is not one. */
export function parseManifest(text: string, where: string): BackupManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UpgradeKitError(
      ErrorCodes.BACKUP_INVALID,
      `${where}: the manifest is not valid JSON (${(error as Error).message}); the backup is incomplete or damaged`,
      { context: { where }, cause: error },
    );
  }
  const result = backupManifestSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new UpgradeKitError(
      ErrorCodes.BACKUP_INVALID,
      `${where}: the manifest's \`${issue.path.join('.') || '(root)'}\` ${issue.message}; the backup is damaged or from another tool`,
      { context: { where, field: issue.path.join('.') } },
    );
  }
  return result.data;
}
