// The site configuration: its schema, loading it, the secrets it refers to, the connection
// defaults of each engine, and its `backup:` section made concrete.
export {
  backupSettings,
  type SiteBackupOptions,
  type SiteBackupSettings,
} from './backup.js';
export { CONNECTION_DEFAULTS, type ConnectionSpec, connectionSpec, type SqlEngine } from './connection.js';
export {
  DEFAULT_SITE,
  type LoadSiteConfigOptions,
  loadSiteConfig,
  type SiteConfig,
  siteIdOf,
} from './load.js';
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
export { readableSecrets, resolveSecret, siteSecrets } from './secrets.js';
