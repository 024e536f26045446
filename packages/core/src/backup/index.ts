export type { KeptCopy } from './asides.js';
export {
  type BackupOptions,
  backupOptionsSchema,
  type CreateBackupResult,
  createBackup,
  hostFor,
} from './create.js';
export { type DatabaseSpec, END_MARKERS } from './databases.js';
export { DEFAULT_EXCLUDES, excludeMatcher } from './exclude.js';
export type {
  ArchiveEntry,
  BackupHost,
  CreateArchiveOptions,
  ExtractOptions,
  HostRunResult,
  MemberSelection,
  RunOptions,
} from './host.js';
export { assertBackupId, BACKUP_ID, backupIdFor } from './ids.js';
export {
  type BackupMatch,
  type BackupSummary,
  findVerifiedBackup,
  listBackups,
  removePartialBackups,
} from './list.js';
export { LocalHost } from './local-host.js';
export {
  type BackupFile,
  type BackupManifest,
  backupManifestSchema,
  type ConfigBackupFile,
  type DatabaseBackupFile,
  MANIFEST_FILE,
  type ProgramBackupFile,
  parseManifest,
} from './manifest.js';
export { RemoteHost } from './remote-host.js';
export { asidePath } from './restore-path.js';
export { Rollback } from './rollback.js';
export { type RollbackOptions, rollbackOptionsSchema } from './rollback-options.js';
export {
  ROLLBACK_STEPS,
  type RollbackHook,
  type RollbackHookContext,
  type RollbackHooks,
  type RollbackModeChoice,
  type RollbackOutcome,
  type RollbackResult,
  type RollbackStartOptions,
  type RollbackStatusReport,
  type RollbackStepReport,
} from './rollback-types.js';
export { type BackupStepOptions, backupStep } from './step.js';
export { describeProblems, type VerifyProblem, type VerifyResult, verifyBackup } from './verify.js';
