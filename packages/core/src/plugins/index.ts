export { type CreatePluginContextOptions, createPluginContext, type PluginContextInput } from './context.js';
export type { PluginFault } from './failure.js';
export { type RunInProcessOptions, runInProcess } from './in-process.js';
export { type RunIsolatedOptions, runIsolated } from './isolate.js';
export {
  type LoadedPlugin,
  type LoadPluginOptions,
  loadPlugin,
  type ResolvedPlugin,
  resolvePlugin,
} from './load.js';
export {
  PLUGIN_POLICIES,
  type PluginPolicy,
  type PluginRunFailure,
  type PluginRunResult,
  type PluginRunSuccess,
  type RunPluginOptions,
  type RunPluginSafelyOptions,
  runPlugin,
  runPluginSafely,
} from './run.js';
export {
  type BackupArtifact,
  type BackupResult,
  type CleanupResult,
  type CompatibilityInfo,
  type DataQualityCheck,
  type DatasourceRequirement,
  type DurationEstimate,
  definePlugin,
  type IncompatibleItem,
  PLUGIN_METHODS,
  type PluginCallContext,
  type PluginContext,
  type PluginCriticality,
  type PluginDatasource,
  type PluginHook,
  type PluginHost,
  type PluginLogger,
  type PluginMethod,
  type PluginMethodResult,
  type PluginMethodResults,
  type PluginSite,
  type PluginTask,
  type ResourceRequirements,
  type UpgradePlugin,
} from './types.js';
