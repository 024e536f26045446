// The site configuration: its schema, loading it, the secrets it refers to, the connection
// defaults of each engine, and its `backup:` section made concrete.
export type { SiteBackupOptions, SiteBackupSettings } from './backup.js';
export type { ConnectionSpec, SqlEngine } from './connection.js';
export { type LoadSiteConfigOptions, loadSiteConfig, type SiteConfig } from './load.js';
export type {
  AssessmentConfig,
  BackupConfig,
  DatasourceConfig,
  HostConfig,
  SiteConfigInput,
  StateConfig,
} from './schema.js';
export { siteSecrets } from './secrets.js';
