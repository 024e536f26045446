import type { Knex } from 'knex';
import { clip, detailJson, keyWhere, type StateDb, toStep } from './rows.js';
import { type StepKey, type StepRecord, type StepStatus, stepKeyString } from './types.js';

// The queries on `upgradekit_steps` (each step's current state) and the `upgrade_log` rows that
// record why it changed. StateStore is their face.

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

export interface EndStep {
  endedAt: number;
  durationMs: number;
  error?: string;
  /** The failure as fields (see UpgradeKitError.detail()). */
  errorDetail?: Readonly<Record<string, unknown>>;
  clearProgress?: boolean;
}

/** Who changed a step outside an attempt, and in which run and stage. */
export interface StepNote {
  runId: string;
  stage: string;
  taskName: string;
  versionFrom: string;
  versionTo: string;
}

/** A step's state set outside an attempt, and why. */
export interface StepDecision extends StepNote {
  reason: string;
  /** New saved progress with the decision (null clears it); left as it is when absent. */
  progress?: string | null;
}

export async function loadSteps(
  db: StateDb,
  component: string,
  site: string,
): Promise<Map<string, StepRecord>> {
  const rows = await db.knex('upgradekit_steps').where({ component, site });
  return new Map(
    rows.map((row: Record<string, unknown>) => {
      const step = toStep(row);
      return [stepKeyString(step), step] as const;
    }),
  );
}

export async function getStep(db: StateDb, key: StepKey): Promise<StepRecord | undefined> {
  const row = await db.knex('upgradekit_steps').where(keyWhere(key)).first();
  return row ? toStep(row) : undefined;
}

export async function beginStep(db: StateDb, step: BeginStep): Promise<number> {
  // Two autocommitted writes, not one transaction: half the round trips per step. Order makes
  // that safe: the log row first, so a crash between the two leaves the step's state untouched
  // (it had not started), and only a harmless 'running' audit row behind.
  const trx = db.knex;
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
  const logId = await insertId(db, trx, 'upgrade_log', logRow);
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

export async function endStep(
  db: StateDb,
  key: StepKey,
  logId: number,
  status: Exclude<StepStatus, 'pending' | 'running'>,
  details: EndStep,
  within?: Knex.Transaction,
): Promise<void> {
  const error = clip(details.error, db.mask);
  const errorDetail = detailJson(details.errorDetail, db.mask);
  const write = async (trx: Knex.Transaction) => {
    await trx('upgrade_log')
      .where({ id: logId })
      .update({
        status,
        end_time: details.endedAt,
        duration_ms: Math.round(details.durationMs),
        error,
        error_detail: errorDetail,
      });
    await trx('upgradekit_steps')
      .where(keyWhere(key))
      .update({
        status,
        ended_at: details.endedAt,
        error,
        error_detail: errorDetail,
        ...(details.clearProgress ? { progress: null } : {}),
      });
  };
  // Inside the caller's transaction (exact), or as two autocommitted writes: the log row first,
  // then the state. A crash between them leaves the state 'running' with a log row that says how
  // the attempt ended — `settleFromLog` reads it on resume, so no false doubt remains.
  await write(within ?? (db.knex as unknown as Knex.Transaction));
}

export async function attemptOutcome(db: StateDb, logId: number): Promise<string | undefined> {
  const row = await db.knex('upgrade_log').where({ id: logId }).first('status');
  return row ? String(row.status) : undefined;
}

export async function settleFromLog(db: StateDb, key: StepKey, status: StepStatus): Promise<void> {
  await db.knex('upgradekit_steps').where(keyWhere(key)).update({ status, ended_at: Date.now() });
}

export async function setChecksum(
  db: StateDb,
  key: StepKey,
  checksum: string,
  note: StepNote,
): Promise<void> {
  const now = Date.now();
  await db.knex.transaction(async (trx) => {
    await insertId(db, trx, 'upgrade_log', {
      ...noteRow(key, note, now),
      status: 'repaired',
      checksum,
      error: 'checksum accepted by operator (repair)',
    });
    await trx('upgradekit_steps').where(keyWhere(key)).update({ checksum });
  });
}

export async function saveProgress(db: StateDb, key: StepKey, progress: string): Promise<void> {
  await db.knex('upgradekit_steps').where(keyWhere(key)).update({ progress });
}

export async function setStepStatus(
  db: StateDb,
  key: StepKey,
  status: StepStatus,
  note: StepDecision,
): Promise<void> {
  const now = Date.now();
  const reason = clip(note.reason, db.mask);
  // An operator's decision moves status and progress together, or neither.
  const progress = note.progress === undefined ? {} : { progress: note.progress };
  await db.knex.transaction(async (trx) => {
    await insertId(db, trx, 'upgrade_log', { ...noteRow(key, note, now), status, error: reason });
    const updated = await trx('upgradekit_steps')
      .where(keyWhere(key))
      .update({
        status,
        run_id: note.runId,
        error: reason,
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
        error: reason,
        ended_at: now,
        ...progress,
      });
    }
  });
}

/** The `upgrade_log` row of a change made outside an attempt: attempt 0, taking no time. */
function noteRow(key: StepKey, note: StepNote, now: number) {
  return {
    run_id: note.runId,
    ...keyWhere(key),
    task_name: note.taskName,
    version_from: note.versionFrom,
    version_to: note.versionTo,
    stage: note.stage,
    attempt: 0,
    start_time: now,
    end_time: now,
    duration_ms: 0,
  };
}

/** Inserts a row and returns its generated id: MySQL has no RETURNING. */
async function insertId(
  db: StateDb,
  trx: Knex | Knex.Transaction,
  table: string,
  row: Record<string, unknown>,
): Promise<number> {
  if (db.dialect === 'mysql') {
    const [id] = await trx(table).insert(row);
    return Number(id);
  }
  const [result] = await trx(table).insert(row).returning('id');
  return Number(typeof result === 'object' && result !== null ? (result as { id: unknown }).id : result);
}
