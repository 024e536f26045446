import type { Criticality } from '../model/index.js';
import type { CompatibilityMatrix } from '../version/index.js';

export type TaskKind = 'sql' | 'clickhouse' | 'tool' | 'command';
/** The seed's task stages; they land on the cut-points preUpgrade, preStart and postStart. */
export type TaskStage = 'pre_stop' | 'in_stop' | 'post_start';

/** Where something was declared, for error messages and reports. */
export interface SourceLocation {
  /** Relative to the release directory. */
  readonly file: string;
  readonly line: number;
}

/** The unit of upgrade work (DESIGN §3). */
export interface Task {
  readonly id: string;
  /** The release version that introduced it (canonical). */
  readonly version: string;
  readonly kind: TaskKind;
  readonly stage: TaskStage;
  readonly description?: string;
  /** sql/clickhouse: absolute path of the statements file, inside the release. */
  readonly file?: string;
  /** tool: absolute module path inside the release, or a package name. */
  readonly package?: string;
  readonly command?: readonly string[];
  readonly datasource?: string;
  readonly compatibleFrom?: string;
  /** Only adds things: a rollback past it may keep the data (compatible rollback). */
  readonly additive?: boolean;
  readonly sites?: { readonly include?: readonly string[]; readonly exclude?: readonly string[] };
  readonly timeoutMs?: number;
  /** tool/command: how long the program has to stop once asked (SIGTERM) before it is killed. */
  readonly stopGraceMs?: number;
  readonly retry?: {
    readonly attempts?: number;
    readonly minDelayMs?: number;
    readonly maxDelayMs?: number;
    readonly scope?: string;
  };
  readonly criticality?: Criticality;
  readonly idempotent?: boolean;
  /** sql: `false` runs statement by statement outside a transaction block. */
  readonly transaction?: boolean;
  /** sql: replace `${name}` inside string literals too. */
  readonly placeholdersInStrings?: boolean;
  readonly check?: string;
  readonly estimate?: {
    readonly rows?: number;
    readonly bytes?: number;
    readonly rate?: number;
    readonly durationMs?: number;
    /** What `rate` and `query` count. */
    readonly unit?: 'rows' | 'bytes';
    /** SQL on the task's datasource returning the volume now. */
    readonly query?: string;
    /** Runs alongside the other parallel tasks of its stage. */
    readonly parallel?: boolean;
  };
  /** What the task needs while it runs, beyond the backup. */
  readonly resources?: { readonly diskBytes?: number; readonly memoryBytes?: number };
  /** sha256 of what the task runs: file content, module content or the command line. */
  readonly checksum: string;
  readonly source: SourceLocation;
  /** A stage that the orchestration file set, and where. */
  readonly stageOverride?: SourceLocation;
}

export interface Datasource {
  readonly type: 'mysql' | 'mariadb' | 'postgres' | 'sqlite' | 'clickhouse';
  readonly description?: string;
}

export interface Release {
  /** Absolute, symlinks resolved. */
  readonly dir: string;
  readonly component: string;
  readonly description?: string;
  readonly datasources: Readonly<Record<string, Datasource>>;
  readonly defaults: {
    readonly datasource?: string;
    readonly timeoutMs?: number;
    readonly retry?: Task['retry'];
    readonly criticality?: Criticality;
  };
  /** Every version with tasks, ascending (canonical). */
  readonly versions: readonly string[];
  /**
   * The newest version the release names — a version directory or a seed file, with tasks or not
   * (an empty `versions/3.0.0/` says "this release reaches 3.0.0"). An upgrade past it is refused.
   */
  readonly newest?: string;
  /** All tasks, by version then declaration order. */
  readonly tasks: readonly Task[];
  /** Data-quality checks of `upgradekit.yaml` (seed 001 §5.2.2). */
  readonly dataQuality?: readonly QualityCheck[];
  /** The upgrade-path matrix of `upgradekit.yaml`: versions as written (planPath normalises them), estimates in ms. */
  readonly compatibility?: CompatibilityMatrix;
}

/** A declared data-quality check: a query counting offending rows, judged against a threshold. */
export interface QualityCheck {
  readonly id: string;
  readonly description?: string;
  /** Resolved: the check's own or `defaults.datasource`. */
  readonly datasource: string;
  readonly sql: string;
  readonly threshold: number;
  readonly severity: 'error' | 'warning';
  /** `MIN~MAX` or a semver range; absent = every upgrade. */
  readonly versions?: string;
  readonly fix?: string;
  readonly timeoutMs?: number;
  readonly source: SourceLocation;
}

/** One thing wrong with a release: where, which field, what, and what to do. */
export interface ReleaseProblem {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  readonly field?: string;
  readonly message: string;
}
