import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { holderIdentity } from './liveness.js';
import { MIGRATIONS_TABLE, migrationSource, SCHEMA_VERSION } from './schema.js';
import {
  type LogRecord,
  type RunRecord,
  type RunStatus,
  type StepKey,
  type StepRecord,
  type StepStatus,
  stepKeyString,
} from './types.js';

export type Dialect = 'sqlite' | 'mysql' | 'postgres';

/** Where state lives: an embedded SQLite file (the default), a knex config, or a knex instance you own. */
export type StateOptions =
  | { readonly filename: string }
  | { readonly config: Knex.Config }
  | { readonly knex: Knex };

const MAX_ERROR = 4000;

function dialectOf(knex: Knex): Dialect {
  const client = String(knex.client.config.client ?? knex.client.dialect ?? '');
  if (/sqlite/.test(client)) return 'sqlite';
  if (/mysql|maria/.test(client)) return 'mysql';
  if (/pg|postgres/.test(client)) return 'postgres';
  throw new UpgradeKitError(
    ErrorCodes.BAD_INPUT,
    `state: unsupported database client "${client}"; use SQLite (better-sqlite3), MySQL/MariaDB (mysql2) or PostgreSQL (pg)`,
  );
}

/** Masks secrets in what is stored (see StateStore.maskWith); the identity until one is given. */
type Mask = <T>(value: T) => T;
const unmasked: Mask = (value) => value;

function clip(text: string | undefined, mask: Mask = unmasked): string | null {
  if (text === undefined) return null;
  const masked = mask(text);
  return masked.length > MAX_ERROR ? `${masked.slice(0, MAX_ERROR)}…` : masked;
}

/** A failure's fields as stored: small by construction, clipped anyway so no column overflows. */
function detailJson(
  detail: Readonly<Record<string, unknown>> | undefined,
  mask: Mask = unmasked,
): string | null {
  if (detail === undefined) return null;
  const text = JSON.stringify(mask(detail));
  return text.length > MAX_ERROR * 4 ? JSON.stringify({ truncated: text.slice(0, MAX_ERROR) }) : text;
}

function parseDetail(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  try {
    return JSON.parse(value) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function num(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

function str(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}

function toStep(row: Record<string, unknown>): StepRecord {
  return {
    component: String(row.component),
    site: String(row.site),
    host: String(row.host),
    taskVersion: String(row.task_version),
    taskId: String(row.task_id),
    taskName: String(row.task_name),
    stage: String(row.stage),
    status: String(row.status) as StepStatus,
    runId: String(row.run_id),
    attempt: Number(row.attempt),
    ...optional({
      checksum: str(row.checksum),
      changesData:
        row.changes_data === null || row.changes_data === undefined ? undefined : Boolean(row.changes_data),
      error: str(row.error),
      errorDetail: parseDetail(row.error_detail),
      progress: str(row.progress),
      startedAt: num(row.started_at),
      endedAt: num(row.ended_at),
      logId: num(row.log_id),
    }),
  };
}

function toRun(row: Record<string, unknown>): RunRecord {
  return {
    runId: String(row.run_id),
    component: String(row.component),
    site: String(row.site),
    versionFrom: String(row.version_from),
    versionTo: String(row.version_to),
    status: String(row.status) as RunStatus,
    host: String(row.host),
    pid: Number(row.pid),
    startedAt: Number(row.started_at),
    ...optional({
      bootId: str(row.boot_id),
      pidNamespace: str(row.pid_ns),
      startTime: num(row.pid_start),
      endedAt: num(row.ended_at),
      error: str(row.error),
    }),
  };
}

function toLog(row: Record<string, unknown>): LogRecord {
  return {
    id: Number(row.id),
    runId: String(row.run_id),
    component: String(row.component),
    site: String(row.site),
    host: String(row.host),
    taskVersion: String(row.task_version),
    taskId: String(row.task_id),
    taskName: String(row.task_name),
    versionFrom: String(row.version_from),
    versionTo: String(row.version_to),
    stage: String(row.stage),
    status: String(row.status),
    attempt: Number(row.attempt),
    startTime: Number(row.start_time),
    ...optional({
      checksum: str(row.checksum),
      error: str(row.error),
      errorDetail: parseDetail(row.error_detail),
      endTime: num(row.end_time),
      durationMs: num(row.duration_ms),
    }),
  };
}

function optional<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function keyWhere(key: StepKey) {
  return {
    component: key.component,
    site: key.site,
    host: key.host,
    task_version: key.taskVersion,
    task_id: key.taskId,
  };
}

export interface BeginStep extends StepKey {
  readonly runId: string;
  readonly taskName: string;
  readonly stage: string;
  readonly versionFrom: string;
  readonly versionTo: string;
  readonly attempt: number;
  readonly checksum?: string;
  /** The step changes application data (its definition's `changesData`). */
  readonly changesData?: boolean;
  readonly startedAt: number;
}

/**
 * One knex — one connection — per SQLite file per process, shared by every store opened on it.
 * better-sqlite3 waits out a busy database synchronously, blocking the event loop: with two
 * connections to one file in one process, a write waiting for `busy_timeout` keeps the other
 * connection's transaction, which it waits for, from ever finishing, and fails after 10 s. Through
 * one connection the stores' writes queue in the pool instead.
 */
const sqliteFiles = new Map<string, { knex: Knex; stores: number }>();

/** knex logs warnings to stdout by itself; core never writes to stdout (DESIGN §2). */
const quietLog = { warn() {}, error() {}, deprecate() {}, debug() {} };

function openSqlite(filename: string): Knex {
  mkdirSync(dirname(filename), { recursive: true });
  return knexFactory({
    log: quietLog,
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      // WAL survives a killed process with every committed transaction; NORMAL sync is
      // durable against process crashes (not power loss), at a fraction of FULL's cost.
      afterCreate: (
        conn: { pragma(s: string): unknown },
        done: (err: Error | null, conn: unknown) => void,
      ) => {
        conn.pragma('journal_mode = WAL');
        conn.pragma('synchronous = NORMAL');
        conn.pragma('busy_timeout = 10000');
        done(null, conn);
      },
    },
  });
}

/**
 * The state store: `upgrade_log` (every attempt, the seed's audit table), the current state of
 * each step, runs and site locks — in any knex database. Every write is its own transaction, so a
 * killed process leaves either the state before a write or the state after it.
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
    let knex: Knex;
    let release = async () => {};
    if ('knex' in options) {
      knex = options.knex;
    } else if ('config' in options) {
      knex = knexFactory({ log: quietLog, ...options.config });
      release = () => knex.destroy();
    } else {
      if (typeof options.filename !== 'string' || options.filename === '') {
        throw new UpgradeKitError(ErrorCodes.BAD_INPUT, 'state: `filename` must be a non-empty path');
      }
      const filename = resolve(options.filename);
      const shared = sqliteFiles.get(filename) ?? { knex: openSqlite(filename), stores: 0 };
      sqliteFiles.set(filename, shared);
      shared.stores++;
      knex = shared.knex;
      release = async () => {
        if (--shared.stores > 0) return;
        sqliteFiles.delete(filename);
        await shared.knex.destroy();
      };
    }
    const store = new StateStore(knex, release);
    try {
      await store.#migrate();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  async #migrate(): Promise<void> {
    const config = { migrationSource, tableName: MIGRATIONS_TABLE };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#ensureMigrationLockRow();
        // Up to date (the usual case): no need for knex's migration lock at all.
        const [, pending] = (await this.knex.migrate.list(config).catch(() => [[], [1]])) as [
          unknown[],
          unknown[],
        ];
        if (pending.length === 0) return;
        await this.knex.migrate.latest(config);
        return;
      } catch (error) {
        // Two runners opening a fresh database at once: one migrates, the other waits for it.
        const locked = /migration table is already locked/i.test(String(error));
        if (attempt < 50 && (locked || /already exists|UNIQUE|Duplicate/i.test(String(error)))) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        // The state schema migrates in well under a second: a lock held for 5 s belongs to a
        // runner killed mid-migration. Free it once and try again.
        if (attempt === 50 && locked) {
          await this.knex.migrate.forceFreeMigrationsLock(config).catch(() => {});
          continue;
        }
        throw new UpgradeKitError(
          ErrorCodes.CONNECTION,
          `state: cannot prepare the state database: ${String(error)}`,
          {
            cause: error,
          },
        );
      }
    }
  }

  /**
   * knex adds the one row of its migration lock table by check-then-insert, so runners opening a
   * fresh database at once can each add one; with two rows its `UPDATE … WHERE is_locked = 0` never
   * touches exactly one, and every open fails with "Migration table is already locked" for good.
   * Create that table and its row ourselves, under a fixed key, before knex looks.
   */
  async #ensureMigrationLockRow(): Promise<void> {
    const table = `${MIGRATIONS_TABLE}_lock`;
    if (!(await this.knex.schema.hasTable(table))) {
      await this.knex.schema.createTable(table, (t) => {
        t.increments('index').primary();
        t.integer('is_locked');
      });
    }
    await this.knex(table).insert({ index: 1, is_locked: 0 }).onConflict('index').ignore();
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

  // ------------------------------------------------------------------ steps

  async loadSteps(component: string, site: string): Promise<Map<string, StepRecord>> {
    const rows = await this.knex('upgradekit_steps').where({ component, site });
    return new Map(
      rows.map((row: Record<string, unknown>) => {
        const step = toStep(row);
        return [stepKeyString(step), step] as const;
      }),
    );
  }

  async getStep(key: StepKey): Promise<StepRecord | undefined> {
    const row = await this.knex('upgradekit_steps').where(keyWhere(key)).first();
    return row ? toStep(row) : undefined;
  }

  /** Records that an attempt starts: a `running` log row and the step's current state, together. */
  async beginStep(step: BeginStep): Promise<number> {
    // Two autocommitted writes, not one transaction: half the round trips per step. Order makes
    // that safe: the log row first, so a crash between the two leaves the step's state untouched
    // (it had not started), and only a harmless 'running' audit row behind.
    const trx = this.knex;
    {
      const logRow = {
        run_id: step.runId,
        component: step.component,
        site: step.site,
        host: step.host,
        task_id: step.taskId,
        task_version: step.taskVersion,
        task_name: step.taskName,
        version_from: step.versionFrom,
        version_to: step.versionTo,
        stage: step.stage,
        status: 'running',
        attempt: step.attempt,
        checksum: step.checksum ?? null,
        start_time: step.startedAt,
      };
      const logId = await this.#insertId(trx, 'upgrade_log', logRow);
      await trx('upgradekit_steps')
        .insert({
          ...keyWhere(step),
          task_name: step.taskName,
          stage: step.stage,
          status: 'running',
          run_id: step.runId,
          attempt: step.attempt,
          checksum: step.checksum ?? null,
          changes_data: step.changesData ?? false,
          error: null,
          started_at: step.startedAt,
          ended_at: null,
          log_id: logId,
        })
        .onConflict(['component', 'site', 'host', 'task_version', 'task_id'])
        .merge([
          'task_name',
          'stage',
          'status',
          'run_id',
          'attempt',
          'checksum',
          'changes_data',
          'error',
          'started_at',
          'ended_at',
          'log_id',
        ]);
      return logId;
    }
  }

  /** Records how an attempt ended, in the log row and the step's current state, together. */
  async endStep(
    key: StepKey,
    logId: number,
    status: Exclude<StepStatus, 'pending' | 'running'>,
    details: {
      endedAt: number;
      durationMs: number;
      error?: string;
      /** The failure as fields (see UpgradeKitError.detail()). */
      errorDetail?: Readonly<Record<string, unknown>>;
      clearProgress?: boolean;
    },
    /** Write inside this transaction (of the same database): the step's own work and its success commit together. */
    within?: Knex.Transaction,
  ): Promise<void> {
    const write = async (trx: Knex.Transaction) => {
      await trx('upgrade_log')
        .where({ id: logId })
        .update({
          status,
          end_time: details.endedAt,
          duration_ms: Math.round(details.durationMs),
          error: clip(details.error, this.#mask),
          error_detail: detailJson(details.errorDetail, this.#mask),
        });
      await trx('upgradekit_steps')
        .where(keyWhere(key))
        .update({
          status,
          ended_at: details.endedAt,
          error: clip(details.error, this.#mask),
          error_detail: detailJson(details.errorDetail, this.#mask),
          ...(details.clearProgress ? { progress: null } : {}),
        });
    };
    // Inside the caller's transaction (exact), or as two autocommitted writes: the log row first,
    // then the state. A crash between them leaves the state 'running' with a log row that says how
    // the attempt ended — `settleFromLog` reads it on resume, so no false doubt remains.
    await write(within ?? (this.knex as unknown as Knex.Transaction));
  }

  /** The ending an interrupted attempt's own log row recorded, if it got that far. */
  async attemptOutcome(logId: number): Promise<string | undefined> {
    const row = await this.knex('upgrade_log').where({ id: logId }).first('status');
    return row ? String(row.status) : undefined;
  }

  /** Brings a step's state in line with its last attempt's log row (after a crash between the two writes). */
  async settleFromLog(key: StepKey, status: StepStatus): Promise<void> {
    await this.knex('upgradekit_steps').where(keyWhere(key)).update({ status, ended_at: Date.now() });
  }

  /** Accepts a changed step's new checksum deliberately (`repair`), with an audit row saying so. */
  async setChecksum(
    key: StepKey,
    checksum: string,
    note: { runId: string; stage: string; taskName: string; versionFrom: string; versionTo: string },
  ): Promise<void> {
    const now = Date.now();
    await this.knex.transaction(async (trx) => {
      await this.#insertId(trx, 'upgrade_log', {
        run_id: note.runId,
        ...keyWhere(key),
        task_name: note.taskName,
        version_from: note.versionFrom,
        version_to: note.versionTo,
        stage: note.stage,
        status: 'repaired',
        attempt: 0,
        checksum,
        error: 'checksum accepted by operator (repair)',
        start_time: now,
        end_time: now,
        duration_ms: 0,
      });
      await trx('upgradekit_steps').where(keyWhere(key)).update({ checksum });
    });
  }

  /** Saves progress inside a step (e.g. "statement 7 of 12 done") so a resume continues there. */
  async saveProgress(key: StepKey, progress: string): Promise<void> {
    await this.knex('upgradekit_steps').where(keyWhere(key)).update({ progress });
  }

  /**
   * Sets a step's state outside an attempt — a restart resetting it to `pending`, an operator's
   * decision, an in-doubt verdict — and writes why to `upgrade_log`.
   */
  async setStepStatus(
    key: StepKey,
    status: StepStatus,
    note: {
      runId: string;
      stage: string;
      taskName: string;
      versionFrom: string;
      versionTo: string;
      reason: string;
      /** New saved progress with the decision (null clears it); left as it is when absent. */
      progress?: string | null;
    },
  ): Promise<void> {
    const now = Date.now();
    // An operator's decision moves status and progress together, or neither.
    const progress = note.progress === undefined ? {} : { progress: note.progress };
    await this.knex.transaction(async (trx) => {
      await this.#insertId(trx, 'upgrade_log', {
        run_id: note.runId,
        ...keyWhere(key),
        task_name: note.taskName,
        version_from: note.versionFrom,
        version_to: note.versionTo,
        stage: note.stage,
        status,
        attempt: 0,
        error: clip(note.reason, this.#mask),
        start_time: now,
        end_time: now,
        duration_ms: 0,
      });
      const updated = await trx('upgradekit_steps')
        .where(keyWhere(key))
        .update({
          status,
          run_id: note.runId,
          error: clip(note.reason, this.#mask),
          ended_at: now,
          ...progress,
        });
      if (updated === 0) {
        await trx('upgradekit_steps').insert({
          ...keyWhere(key),
          task_name: note.taskName,
          stage: note.stage,
          status,
          run_id: note.runId,
          attempt: 0,
          error: clip(note.reason, this.#mask),
          ended_at: now,
          ...progress,
        });
      }
    });
  }

  // ------------------------------------------------------------------- runs

  /**
   * Records a run as running. The runner's process identity (boot id, PID namespace, start time) is
   * this process's when the run's pid is ours and none is given, so a reader can prove it dead.
   */
  async startRun(run: Omit<RunRecord, 'status' | 'endedAt' | 'error'>): Promise<void> {
    const self = run.pid === process.pid && run.bootId === undefined ? holderIdentity() : run;
    await this.knex('upgradekit_runs').insert({
      boot_id: self.bootId ?? null,
      pid_ns: self.pidNamespace ?? null,
      pid_start: self.startTime ?? null,
      run_id: run.runId,
      component: run.component,
      site: run.site,
      version_from: run.versionFrom,
      version_to: run.versionTo,
      status: 'running',
      host: run.host,
      pid: run.pid,
      started_at: run.startedAt,
    });
  }

  async finishRun(runId: string, status: RunStatus, error?: string): Promise<void> {
    await this.knex('upgradekit_runs')
      .where({ run_id: runId })
      .update({ status, ended_at: Date.now(), error: clip(error, this.#mask) });
  }

  async runs(component: string, site: string, limit = 20): Promise<RunRecord[]> {
    const rows = await this.knex('upgradekit_runs')
      .where({ component, site })
      .orderBy('started_at', 'desc')
      .limit(limit);
    return rows.map(toRun);
  }

  /** `upgrade_log` rows, oldest first; all of a run, or of a component and site. */
  async log(filter: {
    runId?: string;
    component?: string;
    site?: string;
    taskId?: string;
  }): Promise<LogRecord[]> {
    const where: Record<string, string> = {};
    if (filter.runId !== undefined) where.run_id = filter.runId;
    if (filter.component !== undefined) where.component = filter.component;
    if (filter.site !== undefined) where.site = filter.site;
    if (filter.taskId !== undefined) where.task_id = filter.taskId;
    const rows = await this.knex('upgrade_log').where(where).orderBy('id', 'asc');
    return rows.map(toLog);
  }

  async #insertId(
    trx: Knex | Knex.Transaction,
    table: string,
    row: Record<string, unknown>,
  ): Promise<number> {
    if (this.dialect === 'mysql') {
      const [id] = await trx(table).insert(row);
      return Number(id);
    }
    const [result] = await trx(table).insert(row).returning('id');
    return Number(typeof result === 'object' && result !== null ? (result as { id: unknown }).id : result);
  }
}
