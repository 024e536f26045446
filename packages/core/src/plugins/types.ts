import type { Logger, StageInput, StageName } from '../model/index.js';
import { anObject, checkArguments } from '../options/index.js';

/**
 * How much a plugin's failure matters (seed 004 §4.5.3): `core` stops the upgrade, `business` is
 * skipped and reported, `optional` (third-party) is recorded and the upgrade goes on.
 */
export type PluginCriticality = 'core' | 'business' | 'optional';

type Awaitable<T> = T | PromiseLike<T>;

/** The site being upgraded. Same shape as the stage context's `SiteInfo`. */
export interface PluginSite {
  readonly id: string;
  readonly name?: string;
  readonly env?: Readonly<Record<string, string>>;
}

/** A host of the site. Same shape as the stage context's `HostInfo`. */
export interface PluginHost {
  readonly name: string;
  readonly address?: string;
  readonly roles?: readonly string[];
}

/**
 * One datasource's connection settings, as a plugin sees them. Passwords, tokens and keys are
 * removed by {@link createPluginContext} unless the caller passes them explicitly.
 */
export interface PluginDatasource {
  /** `mysql`, `mariadb`, `postgres`, `clickhouse`, `redis`, … */
  readonly type: string;
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
  readonly user?: string;
  /** Present only when the caller chose to pass this datasource's secrets. */
  readonly password?: string;
  readonly [option: string]: unknown;
}

/**
 * What every plugin call receives. Plain JSON only: for isolated plugins it crosses a process
 * boundary, and an in-process plugin gets a copy made the same way so it behaves identically.
 */
export interface PluginContext {
  /** The component being upgraded. */
  readonly component?: string;
  /** The version installed now. */
  readonly from: string;
  /** The version being installed. */
  readonly to: string;
  /** Set when the call belongs to a stage (always for `hooks.<stage>`). */
  readonly stage?: StageName;
  readonly runId?: string;
  readonly site: PluginSite;
  /** Keyed by datasource name, as in the release manifest. */
  readonly datasources: Readonly<Record<string, PluginDatasource>>;
  readonly hosts: readonly PluginHost[];
  /** The plugin's own settings from the release or the site configuration. */
  readonly config?: Readonly<Record<string, unknown>>;
}

/**
 * Logging from a plugin; each line becomes a `log` event naming the plugin. The same four levels
 * as a step's `Logger`, so one logger object can serve a step and the plugins it calls.
 */
export type PluginLogger = Logger;

/** The context a plugin method is called with: the data, plus a logger and a cancellation signal. */
export interface PluginCallContext extends PluginContext {
  readonly log: PluginLogger;
  /**
   * Fires when the call is cancelled. An isolated plugin that overruns its timeout is killed
   * outright rather than asked: code that hung cannot be trusted to stop.
   */
  readonly signal: AbortSignal;
}

/** What one datasource needs during the upgrade (seed 001 §5.2.1: middleware resources). */
export interface DatasourceRequirement {
  /** The datasource's name in {@link PluginContext.datasources}. */
  readonly datasource: string;
  readonly diskBytes?: number;
  readonly memoryBytes?: number;
  readonly connections?: number;
  readonly note?: string;
}

/**
 * Resources the upgrade of this component needs (seed 001 §5.2.1): backups, temporary files and
 * incremental data on disk, memory and CPU for the tools, and what each datasource needs.
 */
export interface ResourceRequirements {
  readonly diskBytes?: number;
  /** The directory the disk space is needed in; default: the upgrade's working directory. */
  readonly diskPath?: string;
  readonly memoryBytes?: number;
  /** Share of one host's CPU, 0–100. */
  readonly cpuPercent?: number;
  readonly datasources?: readonly DatasourceRequirement[];
  readonly notes?: readonly string[];
}

/**
 * One data-quality check (seed 001 §5.2.2): dirty, duplicate or out-of-range rows. It passes when
 * `offending` ≤ `threshold`; otherwise `severity` says whether the upgrade may go on.
 */
export interface DataQualityCheck {
  readonly id: string;
  /** "Null user_id in orders". */
  readonly description: string;
  /** Above the threshold: `warning` lets the upgrade continue, `error` stops it. */
  readonly severity: 'warning' | 'error';
  /** How many rows break the rule. */
  readonly offending: number;
  /** How many are tolerated. Default 0. */
  readonly threshold?: number;
  readonly datasource?: string;
  /** "UPDATE orders SET user_id = 0 WHERE user_id IS NULL". */
  readonly suggestion?: string;
}

/** Something in the release that cannot run while the old version is serving (seed 001 §5.2.3). */
export interface IncompatibleItem {
  /** The SQL file, tool or setting: `update_V2.16.7.sql`. */
  readonly item: string;
  /** `sql`, `tool`, `config`, `api`, … */
  readonly kind?: string;
  /** The oldest version it is compatible with (the seed's `compatible_version`). */
  readonly compatibleFrom?: string;
  readonly reason: string;
  readonly impact?: string;
  readonly suggestion?: string;
}

/** Whether this component can be upgraded rolling, without stopping it (seed 001 §5.2.3). */
export interface CompatibilityInfo {
  readonly rollingCompatible: boolean;
  readonly incompatible: readonly IncompatibleItem[];
}

/** A long task's expected duration, from its data volume and rate (seed 001 §5.2.4). */
export interface DurationEstimate {
  /** The task id or file: `migrate_user_data.sql`. */
  readonly task: string;
  /** When it runs: before the stop, while stopped, after the start. */
  readonly stage?: 'pre_stop' | 'in_stop' | 'post_start';
  readonly durationMs: number;
  readonly dataBytes?: number;
  readonly rows?: number;
  readonly bytesPerSecond?: number;
  readonly rowsPerSecond?: number;
  /** Runs in parallel with other tasks of its stage. */
  readonly parallel?: boolean;
}

/** One file or dump a backup produced. */
export interface BackupArtifact {
  readonly path: string;
  readonly bytes?: number;
  /** `sha256:…` */
  readonly checksum?: string;
  readonly datasource?: string;
  readonly host?: string;
}

export interface BackupResult {
  readonly artifacts: readonly BackupArtifact[];
  readonly note?: string;
}

export interface CleanupResult {
  readonly removed?: readonly string[];
  readonly freedBytes?: number;
}

/** A release task a plugin contributes. Opaque until the release issue defines tasks. */
export type PluginTask = Readonly<Record<string, unknown>>;

/** A stage hook. Its return value, if any, must be JSON. */
export type PluginHook = (context: PluginCallContext) => unknown;

/**
 * The upgrade plugin SPI (seed 001 §6.1.3.3): every method is optional; a plugin implements what
 * its component needs. Results must be plain JSON; they are checked when they come back.
 */
export interface UpgradePlugin {
  /** Names the plugin in events, errors and reports. */
  readonly name: string;
  readonly version?: string;
  readonly description?: string;
  /**
   * What the plugin says about itself. Isolation and limits follow the caller's criticality,
   * never this: a plugin cannot talk its way out of its sandbox.
   */
  readonly criticality?: PluginCriticality;
  resources?(context: PluginCallContext): Awaitable<ResourceRequirements>;
  dataQuality?(context: PluginCallContext): Awaitable<readonly DataQualityCheck[]>;
  compatibility?(context: PluginCallContext): Awaitable<CompatibilityInfo>;
  estimate?(context: PluginCallContext): Awaitable<readonly DurationEstimate[]>;
  // biome-ignore lint/suspicious/noConfusingVoidType: a backup with nothing to report may just not return.
  backup?(context: PluginCallContext): Awaitable<BackupResult | undefined | void>;
  // biome-ignore lint/suspicious/noConfusingVoidType: as for backup.
  cleanup?(context: PluginCallContext): Awaitable<CleanupResult | undefined | void>;
  /** Keyed by cut-point (`preStart`) or by tasks.yaml's name for it (`in_stop`), not both. */
  readonly hooks?: { readonly [S in StageInput]?: PluginHook };
  readonly tasks?: readonly PluginTask[] | ((context: PluginCallContext) => Awaitable<readonly PluginTask[]>);
}

/** What each SPI method answers. */
export interface PluginMethodResults {
  resources: ResourceRequirements;
  dataQuality: readonly DataQualityCheck[];
  compatibility: CompatibilityInfo;
  estimate: readonly DurationEstimate[];
  backup: BackupResult | undefined;
  cleanup: CleanupResult | undefined;
  tasks: readonly PluginTask[];
}

/** A method that can be called on a plugin: an SPI method, or a stage hook as `hooks.<stage>`. */
export type PluginMethod = keyof PluginMethodResults | `hooks.${StageName}`;

/** The answer of `method`; `undefined` when the plugin does not implement it. */
export type PluginMethodResult<M extends PluginMethod> =
  | (M extends keyof PluginMethodResults ? PluginMethodResults[M] : unknown)
  | undefined;

/** The SPI methods, in the order an assessment asks them. */
export const PLUGIN_METHODS = [
  'resources',
  'dataQuality',
  'compatibility',
  'estimate',
  'backup',
  'cleanup',
  'tasks',
] as const satisfies readonly (keyof PluginMethodResults)[];

/**
 * Declares a plugin with full type checking and inference; returns it unchanged.
 *
 * @example
 * export default definePlugin({
 *   name: 'orders',
 *   criticality: 'business',
 *   async dataQuality({ datasources, log }) {
 *     log.info('checking orders', { datasource: datasources.main?.host });
 *     return [{ id: 'null-user', description: 'orders without user_id', severity: 'error', offending: 0 }];
 *   },
 *   hooks: { preStart: async (ctx) => { … } },
 * });
 */
export function definePlugin<const P extends UpgradePlugin>(plugin: P): P {
  checkArguments('definePlugin', { plugin: anObject('a plugin ({ name, … })') }, { plugin });
  return plugin;
}
