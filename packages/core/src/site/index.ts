export { type AssessSiteInput, type AssessSiteOptions, assessSite } from './assess.js';
export {
  type BackupSiteOptions,
  backupSettings,
  backupSite,
  type OpenRollbackOptions,
  openSiteRollback,
  rollbackModeFromRelease,
  type SiteBackupOptions,
  type SiteBackupSettings,
  type SiteRollback,
  siteBackupStep,
} from './backup.js';
export {
  type Datasources,
  describeStateLocation,
  type OpenDatasourcesOptions,
  openDatasources,
  stateOptions,
} from './connect.js';
export { type ConfirmReasons, type ExecuteOptions, type ExecuteOutcome, executeUpgrade } from './execute.js';
export { type ConnectHostOptions, connectHost } from './hosts.js';
export {
  type LoadSiteConfigOptions,
  loadSiteConfig,
  readableSecrets,
  resolveSecret,
  type SiteConfig,
  siteIdOf,
  siteSecrets,
} from './load.js';
export {
  DEFAULT_SITE,
  lastRecordedUpgrade,
  type PreparedUpgrade,
  type PrepareUpgradeOptions,
  prepareUpgrade,
  type SiteDatasources,
} from './prepare.js';
export {
  type AssessmentConfig,
  type BackupConfig,
  backupConfigSchema,
  type DatasourceConfig,
  type HostConfig,
  type SiteConfigInput,
  type StateConfig,
  siteConfigSchema,
} from './schema.js';
