export type { KeptCopy } from './asides.js';
export { type BackupOptions, type CreateBackupResult, createBackup } from './create.js';
export type { DatabaseSpec } from './databases.js';

export type {
  ArchiveEntry,
  BackupHost,
  CreateArchiveOptions,
  ExtractOptions,
  HostRunResult,
  MemberSelection,
  RunOptions,
} from './host.js';

export {
  type BackupMatch,
  type BackupSummary,
  findVerifiedBackup,
  listBackups,
  removePartialBackups,
} from './list.js';
export { LocalHost } from './local-host.js';
export type {
  BackupFile,
  BackupManifest,
  ConfigBackupFile,
  DatabaseBackupFile,
  ProgramBackupFile,
} from './manifest.js';
export { RemoteHost } from './remote-host.js';

export { Rollback } from './rollback.js';
export type { RollbackOptions } from './rollback-options.js';
export type {
  RollbackHook,
  RollbackHookContext,
  RollbackHooks,
  RollbackModeChoice,
  RollbackOutcome,
  RollbackResult,
  RollbackStartOptions,
  RollbackStatusReport,
  RollbackStepReport,
} from './rollback-types.js';
export { type BackupStepOptions, backupStep } from './step.js';
export { type VerifyProblem, type VerifyResult, verifyBackup } from './verify.js';
