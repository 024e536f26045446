import type { Knex } from 'knex';
import { anObject, checkArguments } from '../options/index.js';
import { type Dialect, dialectOf, migrateState, openKnex, type StateOptions } from './open.js';
import { type Mask, type StateDb, unmasked } from './rows.js';
import * as runs from './runs.js';
import { SCHEMA_VERSION } from './schema.js';
import * as steps from './steps.js';
import type { LogRecord, RunRecord, RunStatus, StepKey, StepRecord, StepStatus } from './types.js';

export type { Dialect, StateOptions } from './open.js';
export type { BeginStep } from './steps.js';

/**
 * The state store: `upgrade_log` (every attempt, the seed's audit table), the current state of
 * each step, runs and site locks — in any knex database. Every write is its own transaction, so a
 * killed process leaves either the state before a write or the state after it.
 *
 * The queries live by table in steps.ts and runs.ts; this class holds the connection and the mask.
 *
 * @example
 * const state = await StateStore.open({ filename: './upgrade-state.sqlite' });
 */
export class StateStore {
  readonly knex: Knex;
  readonly dialect: Dialect;
  readonly #release: () => Promise<void>;
  #closed = false;
  #mask: Mask = unmasked;

  /**
   * Masks secrets in every error stored from now on: a failure's message may quote a password (a
   * driver's error, a program's stderr), and the state database is read by others.
   */
  maskWith(mask: Mask): void {
    this.#mask = mask;
  }

  private constructor(knex: Knex, release: () => Promise<void>) {
    this.knex = knex;
    this.dialect = dialectOf(knex);
    this.#release = release;
  }

  /** Opens (and creates or migrates forward) the state schema. */
  static async open(options: StateOptions): Promise<StateStore> {
    checkArguments('StateStore.open', { options: anObject('{ filename } or { knex }') }, { options });
    const { knex, release } = openKnex(options);
    const store = new StateStore(knex, release);
    try {
      await migrateState(knex);
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  /** The schema version this store runs at. */
  get schemaVersion(): number {
    return SCHEMA_VERSION;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#release();
  }

  /** What the queries need, with the mask as it is now. */
  get #db(): StateDb {
    return { knex: this.knex, dialect: this.dialect, mask: this.#mask };
  }

  // ------------------------------------------------------------------ steps

  loadSteps(component: string, site: string): Promise<Map<string, StepRecord>> {
    return steps.loadSteps(this.#db, component, site);
  }

  getStep(key: StepKey): Promise<StepRecord | undefined> {
    return steps.getStep(this.#db, key);
  }

  /** Records that an attempt starts: a `running` log row and the step's current state, together. */
  beginStep(step: steps.BeginStep): Promise<number> {
    return steps.beginStep(this.#db, step);
  }

  /** Records how an attempt ended, in the log row and the step's current state, together. */
  endStep(
    key: StepKey,
    logId: number,
    status: Exclude<StepStatus, 'pending' | 'running'>,
    details: steps.EndStep,
    /** Write inside this transaction (of the same database): the step's own work and its success commit together. */
    within?: Knex.Transaction,
  ): Promise<void> {
    return steps.endStep(this.#db, key, logId, status, details, within);
  }

  /** The ending an interrupted attempt's own log row recorded, if it got that far. */
  attemptOutcome(logId: number): Promise<string | undefined> {
    return steps.attemptOutcome(this.#db, logId);
  }

  /** Brings a step's state in line with its last attempt's log row (after a crash between the two writes). */
  settleFromLog(key: StepKey, status: StepStatus): Promise<void> {
    return steps.settleFromLog(this.#db, key, status);
  }

  /** Accepts a changed step's new checksum deliberately (`repair`), with an audit row saying so. */
  setChecksum(key: StepKey, checksum: string, note: steps.StepNote): Promise<void> {
    return steps.setChecksum(this.#db, key, checksum, note);
  }

  /** Saves progress inside a step (e.g. "statement 7 of 12 done") so a resume continues there. */
  saveProgress(key: StepKey, progress: string): Promise<void> {
    return steps.saveProgress(this.#db, key, progress);
  }

  /**
   * Sets a step's state outside an attempt — a restart resetting it to `pending`, an operator's
   * decision, an in-doubt verdict — and writes why to `upgrade_log`.
   */
  setStepStatus(key: StepKey, status: StepStatus, note: steps.StepDecision): Promise<void> {
    return steps.setStepStatus(this.#db, key, status, note);
  }

  // ------------------------------------------------------------------- runs

  /**
   * Records a run as running. The runner's process identity (boot id, PID namespace, start time) is
   * this process's when the run's pid is ours and none is given, so a reader can prove it dead.
   */
  startRun(run: Omit<RunRecord, 'status' | 'endedAt' | 'error'>): Promise<void> {
    return runs.startRun(this.#db, run);
  }

  finishRun(runId: string, status: RunStatus, error?: string): Promise<void> {
    return runs.finishRun(this.#db, runId, status, error);
  }

  runs(component: string, site: string, limit = 20): Promise<RunRecord[]> {
    return runs.runs(this.#db, component, site, limit);
  }

  /** `upgrade_log` rows, oldest first; all of a run, or of a component and site. */
  log(filter: runs.LogFilter): Promise<LogRecord[]> {
    return runs.log(this.#db, filter);
  }
}
