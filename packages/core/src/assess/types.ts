import type { RoutePoint } from '../plan/index.js';
import type { TaskStage } from '../release/index.js';
import type { HopMode } from '../version/index.js';

/** Every check ends in one of these (seed 001 §5.2.1: 通过 / 警告 / 失败, plus "not applicable"). */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** `fail` stops the upgrade; `warn` needs an operator's confirmation; `pass` goes ahead. */
export type Verdict = 'pass' | 'warn' | 'fail';

/** One check of the assessment, with what was found and what to do about it. */
export interface CheckResult {
  /** Stable within a report: `resources.local.disk`, `quality.orders_null_user`. */
  readonly id: string;
  readonly title: string;
  readonly status: CheckStatus;
  /** What was measured and against what. */
  readonly detail: string;
  readonly suggestion?: string;
  readonly host?: string;
  /** The measured numbers, for tools. */
  readonly data?: Readonly<Record<string, unknown>>;
  /**
   * The operator accepted this failed or warning check for this run (`accept`): it is reported as
   * measured but blocks nothing.
   */
  readonly accepted?: boolean;
}

/** What every section of the report has: its checks, and the worst of their statuses. */
interface Section<C extends CheckResult = CheckResult> {
  readonly status: CheckStatus;
  readonly checks: readonly C[];
}

export interface DiskFigures {
  /** The path asked about. */
  readonly path: string;
  /** The existing directory measured: the path or its nearest existing parent. */
  readonly measured?: string;
  readonly mount?: string;
  /** Identifies the file system (device number, or df's file system and mount): paths sharing it share its space. */
  readonly device?: string;
  readonly totalBytes?: number;
  readonly freeBytes?: number;
  readonly error?: string;
}

/** What one machine has free, from one probe. */
export interface HostResources {
  readonly host: string;
  readonly local: boolean;
  readonly cpus?: number;
  readonly cpuIdlePercent?: number;
  readonly memoryAvailableBytes?: number;
  readonly memoryTotalBytes?: number;
  readonly disks: readonly DiskFigures[];
  /** Set when the probe itself failed (host unreachable…). */
  readonly error?: string;
  readonly elapsedMs: number;
}

/** The backup-size estimate of one datasource (seed 001 §5.2.1). */
export interface BackupEstimate {
  readonly datasource: string;
  /**
   * The datasource's type as configured in the release (`mariadb`, `mysql`, `postgres`, …), or,
   * without a release, the dialect its connection speaks. Renderers name it with `formatEngine`.
   */
  readonly type: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** Data + index size now. */
  readonly dataBytes?: number;
  readonly rows?: number;
  /** `dataBytes × backup factor`. */
  readonly backupBytes?: number;
  /** `dataBytes × 2 + buffer`, for datasources written twice during the upgrade. */
  readonly dualWriteBytes?: number;
  /** Why a rollback could not set this database aside with the configured account, and the grant that fixes it. */
  readonly rollbackBlocked?: { readonly detail: string; readonly suggestion: string };
}

export interface ResourceNeed {
  readonly backupBytes: number;
  readonly dualWriteBytes: number;
  /** Declared by tasks and plugins. */
  readonly declaredDiskBytes: number;
  readonly declaredMemoryBytes: number;
  readonly declaredCpuPercent: number;
  /** Where the backup goes: a host name (`local` for this machine) and path. */
  readonly backupHost?: string;
  readonly backupPath?: string;
}

export interface ResourcesSection extends Section {
  readonly hosts: readonly HostResources[];
  readonly backups: readonly BackupEstimate[];
  readonly need: ResourceNeed;
}

/** A data-quality check's outcome, as the seed's report prints it (seed 001 §5.2.2). */
export interface QualityResult extends CheckResult {
  readonly datasource: string;
  readonly severity: 'error' | 'warning';
  readonly threshold: number;
  /** Rows breaking the rule; absent when the check did not run. */
  readonly offending?: number;
  readonly versions?: string;
  /** The suggested repair. Never run by upgradekit. */
  readonly fix?: string;
  readonly attempts: number;
  readonly elapsedMs: number;
  /** `release` (upgradekit.yaml) or the plugin's name. */
  readonly origin: string;
}

export type DataQualitySection = Section<QualityResult>;

export interface IncompatibleEntry {
  readonly item: string;
  readonly kind: string;
  readonly version?: string;
  readonly compatibleFrom?: string;
  readonly reason: string;
  readonly needsConfirmation: boolean;
  /** Which hop of a multi-hop route, from 0. */
  readonly hop?: number;
  readonly origin: string;
}

export interface CompatibilitySection extends Section {
  readonly mode: 'rolling' | 'stop';
  readonly incompatible: readonly IncompatibleEntry[];
}

/** How a duration was arrived at. */
export type EstimateBasis = 'declared-duration' | 'declared-volume' | 'queried-volume' | 'plugin' | 'unknown';

export interface TaskEstimate {
  readonly id: string;
  readonly version?: string;
  readonly stage: TaskStage;
  readonly hop?: number;
  readonly durationMs?: number;
  readonly basis: EstimateBasis;
  readonly volume?: number;
  readonly unit?: 'rows' | 'bytes';
  /** Units per second. */
  readonly rate?: number;
  readonly parallel: boolean;
  /** Over the long-task threshold (default 5 minutes). */
  readonly long: boolean;
  /** Why there is no estimate, or what to do about a long one. */
  readonly note?: string;
}

export interface StageEstimate {
  readonly stage: TaskStage;
  /** The cut-point the stage runs in: preUpgrade, preStart, postStart. */
  readonly cutPoint: string;
  readonly hop?: number;
  /** Parallel tasks take the longest of them; serial ones add up; the two parts add. */
  readonly durationMs: number;
  readonly tasks: number;
  readonly parallelTasks: number;
  /** Tasks of the stage without an estimate: `durationMs` leaves them out. */
  readonly unestimated: number;
  readonly longest?: string;
}

export interface DurationSection extends Section {
  readonly tasks: readonly TaskEstimate[];
  readonly stages: readonly StageEstimate[];
  readonly totalMs: number;
  /** Time with services stopped: the in_stop stages. */
  readonly downtimeMs: number;
  /** The longest task. */
  readonly critical?: string;
  /** Tasks without any estimate: the totals leave them out. */
  readonly unestimated: readonly string[];
}

export interface RouteSummary {
  readonly mode: 'jump' | 'progressive' | 'combined';
  readonly hops: readonly {
    readonly from: string;
    readonly to: string;
    readonly mode: HopMode;
    readonly tasks: number;
    readonly upgradeMode: 'rolling' | 'stop';
    readonly rollbackPoint: RoutePoint;
    readonly estimateMs?: number;
  }[];
}

/**
 * The assessment (seed 001 §6.1.3.4: 资源需求检查、数据质量检查、获取兼容信息、升级耗时评估).
 * Its JSON form is stable: fields are only ever added; `schema` names the version.
 */
export interface AssessmentReport {
  readonly schema: 'upgradekit.assessment/v1';
  readonly component: string;
  readonly from: string;
  readonly to: string;
  readonly site?: string;
  /** ISO 8601. */
  readonly generatedAt: string;
  readonly elapsedMs: number;
  readonly verdict: Verdict;
  readonly counts: Readonly<Record<CheckStatus, number>>;
  /** Present for a multi-hop route. */
  readonly route?: RouteSummary;
  readonly resources: ResourcesSection;
  readonly dataQuality: DataQualitySection;
  readonly compatibility: CompatibilitySection;
  readonly duration: DurationSection;
}
