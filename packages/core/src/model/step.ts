import type { EventSink } from '../events/index.js';
import type { StepRecord } from './records.js';
import type { StageName } from './stages.js';

/** Seed 004 §4.5.3: `core` stops the run; `business` is skipped and reported; `optional` is recorded. */
/** What kind of wait timed out: it decides the diagnosis a timeout carries. */
export type TimeoutCategory = 'network' | 'database' | 'file' | 'service' | 'plugin' | 'unknown';

export type Criticality = 'core' | 'business' | 'optional';

/**
 * What a failure retries (seed 004 §4.2.2): just this `step`; the whole `stage`'s failed checks
 * together; everything `from:<stepId>` on, after cleanups; or the whole `run` from the start.
 */
export type RetryScope = 'step' | 'stage' | 'run' | `from:${string}`;

export interface StepRetry {
  /** Total attempts (for `from:`/`run`: restarts + 1). Default 1. */
  readonly attempts?: number;
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly factor?: number;
  readonly jitter?: boolean;
}

export interface SiteInfo {
  readonly id: string;
  readonly name?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export interface HostInfo {
  readonly name: string;
  readonly address?: string;
  /** SSH port, when the host came from a site configuration. */
  readonly port?: number;
  /** SSH user, likewise. */
  readonly user?: string;
  readonly roles?: readonly string[];
  /** Anything the hooks need (paths, ports), carried through untouched. */
  readonly vars?: Readonly<Record<string, unknown>>;
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Which version of the services is up while a stage runs. */
export type ServicePhase<S extends StageName> = S extends 'preStart'
  ? 'stopped'
  : S extends 'install' | 'resourceCheck' | 'businessCheck' | 'preUpgrade'
    ? 'old-version-running'
    : 'new-version-running';

/**
 * The clients a step reaches by name (`ctx.datasources.main`). Give the upgrade their types once —
 * `createUpgrade<{ main: Knex }>(…)`, or what `prepareUpgrade` returns — and every step sees them
 * typed, with no cast.
 */
export type DatasourceMap = Readonly<Record<string, unknown>>;

/** What a step's `run`, `skipIf` and `cleanup` receive. Specific to the stage it runs in. */
export interface StepContext<S extends StageName = StageName, D extends DatasourceMap = DatasourceMap> {
  readonly stage: S;
  readonly services: ServicePhase<S>;
  readonly step: string;
  readonly attempt: number;
  readonly runId: string;
  readonly component: string;
  readonly from: string;
  readonly to: string;
  readonly site: SiteInfo;
  readonly host: string | undefined;
  readonly datasources: Readonly<D>;
  readonly hosts: readonly HostInfo[];
  readonly log: Logger;
  readonly events: EventSink;
  /** Fires on timeout, on SIGINT/SIGTERM (when handled) and when the site lock is lost. */
  readonly signal: AbortSignal;
  /** What this step saved with `saveProgress` in an earlier, interrupted attempt. */
  readonly progress: string | undefined;
  saveProgress(progress: string): Promise<void>;
  /** The recorded state of another step of this upgrade. */
  stepState(stepId: string, host?: string): Promise<StepRecord | undefined>;
  /**
   * Says, in an operator's words, what is at stake if the process exits right now — what a second
   * Ctrl-C prints (e.g. "statement 3 of 5 (a.sql:7) is running and commits on its own: it may have
   * been applied"). `undefined` clears it. Absent outside a run.
   */
  inFlight?(note: string | undefined): void;
}

export interface StepDefinition<S extends StageName = StageName, D extends DatasourceMap = DatasourceMap> {
  /** Stable id: with the component and version, it is what makes a succeeded step never run again. */
  readonly id: string;
  readonly name?: string;
  /** The release that introduced it. Default: the target version. */
  readonly version?: string;
  /** The host it runs for, if any; part of its identity. */
  readonly host?: string;
  readonly run: (ctx: StepContext<S, D>) => unknown;
  /** Default: the upgrade's `defaults.timeoutMs` (1 hour). */
  readonly timeoutMs?: number;
  /**
   * How long the step has to stop once its signal fires (a cancel, a timeout) before the run gives
   * up waiting and reports it as possibly still running (in doubt). Default: 10% of the timeout,
   * between 200 ms and 5 s.
   */
  readonly stopGraceMs?: number;
  readonly kind?: TimeoutCategory;
  /**
   * The step changes the application's data (a migration, a data fix). A compatible rollback keeps
   * the data, so it keeps these steps done and sets the others back to pending. The release's
   * sql, clickhouse, tool and command tasks set it; a hook that changes data should too.
   */
  readonly changesData?: boolean;
  readonly retry?: StepRetry;
  /** Default `stage` in check stages, else `step`. */
  readonly scope?: RetryScope;
  /** Default `core`. */
  readonly criticality?: Criticality;
  /** Safe to run again after a crash mid-way. Default: true in check stages, else false. */
  readonly idempotent?: boolean;
  /** Already done? Then the step is skipped (and an in-doubt step is settled). */
  readonly skipIf?: (ctx: StepContext<S, D>) => boolean | Promise<boolean>;
  /** Remove partial output before a retry or a restart. */
  readonly cleanup?: (ctx: StepContext<S, D>) => unknown;
  readonly checksum?: string;
  /** One line for dry runs and reports: what the step will do (e.g. "sql on main, 3 statements"). */
  readonly summary?: string;
  /** Where the step was declared (e.g. "versions/1.2.0/tasks.yaml:4"), for messages about it. */
  readonly source?: string;
  /**
   * An operator's decision about a step that keeps progress of its own (`saveProgress`), applied
   * to that progress: the step knows what "the part in doubt" is. Without it, `applied` marks the
   * whole step done, `retry` and `restart` run it again from the start, and `from` is refused.
   */
  readonly resolveProgress?: (progress: string | undefined, decision: ResolveDecision) => ProgressResolution;
  /** What `status` and dry run show for saved progress, e.g. "statement 5 of 12 next"; undefined: nothing to show. */
  readonly describeProgress?: (progress: string | undefined) => string | undefined;
  /**
   * What of the saved progress a crash left in doubt that the step, resumed, will not settle by
   * itself but stop on and hand to an operator — e.g. "statement 2 of 3 (a.sql:2), which commits on
   * its own, was running". Undefined: resuming is exact. Lets `status` and dry run tell "resumes by
   * itself" from "needs a decision" before any run, and keeps a run from announcing a resume that
   * the step then refuses.
   */
  readonly progressInDoubt?: (progress: string | undefined) => string | undefined;
}

export type HookFunction<S extends StageName, D extends DatasourceMap = DatasourceMap> = (
  ctx: StepContext<S, D>,
) => unknown;
export type Hook<S extends StageName, D extends DatasourceMap = DatasourceMap> =
  | HookFunction<S, D>
  | StepDefinition<S, D>;
export type HookMap<D extends DatasourceMap = DatasourceMap> = {
  readonly [S in StageName]?: Hook<S, D> | readonly Hook<S, D>[];
};

/** `upgrade.hooks.preStart(fn)`: one registrar per stage; a misspelt name does not compile. */
export type Hooks<D extends DatasourceMap = DatasourceMap> = {
  readonly [S in StageName]: (hook: Hook<S, D>) => Hooks<D>;
};

/** An operator's decision about a failed or in-doubt step (`upgrade.resolve`, `upgradekit resolve`). */
export type ResolveDecision =
  /** The failed or in-doubt part is done: continue after it. */
  | { readonly kind: 'applied' }
  /** Run the failed or in-doubt part again. */
  | { readonly kind: 'retry' }
  /** Forget saved progress: from the very start (for a human who cleaned up). */
  | { readonly kind: 'restart' }
  /** Continue at position N (for SQL: the 1-based statement). */
  | { readonly kind: 'from'; readonly position: number };

/** What `resolveProgress` makes of a decision. */
export interface ProgressResolution {
  /** New saved progress (undefined clears it). */
  readonly progress: string | undefined;
  /** The step is now done (succeeded) rather than pending. */
  readonly done: boolean;
  /** One line for the operator, the same words `status` will show, e.g. "statement 5 of 12 runs next". */
  readonly message: string;
}
