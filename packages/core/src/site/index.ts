// A configured site put to work: an upgrade prepared, assessed and executed; its backups and
// rollbacks. What it is made of lives below: the configuration in config/, the connections in
// datasources/.
export { type AssessSiteInput, type AssessSiteOptions, assessSite } from './assess.js';
export {
  type BackupSiteOptions,
  backupSite,
  type OpenRollbackOptions,
  openSiteRollback,
  rollbackModeFromRelease,
  type SiteRollback,
} from './backup.js';
export { type ConfirmReasons, type ExecuteOptions, type ExecuteOutcome, executeUpgrade } from './execute.js';
export {
  type PreparedUpgrade,
  type PrepareUpgradeOptions,
  prepareUpgrade,
  type SiteDatasources,
} from './prepare.js';
