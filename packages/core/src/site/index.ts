export { type Datasources, type OpenDatasourcesOptions, openDatasources, stateOptions } from './connect.js';
export { type LoadSiteConfigOptions, loadSiteConfig, resolveSecret, type SiteConfig } from './load.js';
export {
  DEFAULT_SITE,
  type PreparedUpgrade,
  type PrepareUpgradeOptions,
  prepareUpgrade,
} from './prepare.js';
export {
  type DatasourceConfig,
  type SiteConfigInput,
  type StateConfig,
  siteConfigSchema,
} from './schema.js';
