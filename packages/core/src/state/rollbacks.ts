import type { StateStore } from './store.js';

export type RollbackType = 'auto' | 'manual';
/** `full` restores data too; `compatible` (seed 000 §8.4) restores files and config and keeps the data. */
export type RollbackMode = 'full' | 'compatible';
export type RollbackStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'abandoned';
export type RollbackStepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

export interface RollbackStepState {
  readonly status: RollbackStepStatus;
  readonly startedAt?: number;
  readonly endedAt?: number;
  readonly error?: string;
  readonly reason?: string;
  /** Opaque progress inside the step (e.g. "moved-aside"), so a continuation resumes inside it. */
  readonly progress?: string;
}

/** One row of the rollback history (seed 004 §4.4.3.1). */
export interface RollbackRecord {
  readonly rollbackId: string;
  readonly component: string;
  readonly site: string;
  readonly host: string;
  readonly backupId: string;
  /** The version being left (the upgrade's target). */
  readonly fromVersion: string;
  /** The version restored (the backup's). */
  readonly toVersion: string;
  readonly type: RollbackType;
  readonly mode: RollbackMode;
  readonly status: RollbackStatus;
  readonly startedAt: number;
  readonly endedAt?: number;
  readonly durationMs?: number;
  readonly error?: string;
  /** Steps 1…6 by number. */
  readonly steps: Readonly<Record<number, RollbackStepState>>;
}

export type NewRollback = Omit<RollbackRecord, 'rollbackId' | 'status' | 'startedAt' | 'steps'> & {
  readonly startedAt?: number;
  readonly steps: Readonly<Record<number, RollbackStepState>>;
};

const TABLE = 'upgradekit_rollbacks';
const MAX_ERROR = 4000;

function toRecord(row: Record<string, unknown>): RollbackRecord {
  const optional = (value: unknown) => (value === null || value === undefined ? undefined : value);
  const endedAt = optional(row.ended_at);
  const durationMs = optional(row.duration_ms);
  const error = optional(row.error);
  return {
    rollbackId: String(row.rollback_id),
    component: String(row.component),
    site: String(row.site),
    host: String(row.host),
    backupId: String(row.backup_id),
    fromVersion: String(row.from_version),
    toVersion: String(row.to_version),
    type: String(row.rollback_type) as RollbackType,
    mode: String(row.mode) as RollbackMode,
    status: String(row.status) as RollbackStatus,
    startedAt: Number(row.started_at),
    ...(endedAt !== undefined ? { endedAt: Number(endedAt) } : {}),
    ...(durationMs !== undefined ? { durationMs: Number(durationMs) } : {}),
    ...(error !== undefined ? { error: String(error) } : {}),
    steps: JSON.parse(String(row.steps)) as Record<number, RollbackStepState>,
  };
}

function clip(text: string | undefined): string | null {
  if (text === undefined) return null;
  return text.length > MAX_ERROR ? `${text.slice(0, MAX_ERROR)}…` : text;
}

/**
 * The rollback history in the state store: every rollback, its type and mode, and where each of
 * its six steps stands. Writers hold the site lock, so read-modify-write of a row is safe.
 *
 * @example
 * const history = new RollbackHistory(state);
 * const past = await history.list('app', 'site-1');
 */
export class RollbackHistory {
  readonly #store: StateStore;

  constructor(store: StateStore) {
    this.#store = store;
  }

  /** Records a new rollback as `running` and returns it with its id (`rollback_001`, …, per site). */
  async start(rollback: NewRollback): Promise<RollbackRecord> {
    const knex = this.#store.knex;
    const rows = await knex(TABLE)
      .where({ component: rollback.component, site: rollback.site })
      .select('rollback_id');
    const next =
      rows.reduce((max: number, row: { rollback_id: string }) => {
        const n = Number(/(\d+)$/.exec(String(row.rollback_id))?.[1] ?? 0);
        return Math.max(max, n);
      }, 0) + 1;
    const rollbackId = `rollback_${String(next).padStart(3, '0')}`;
    const startedAt = rollback.startedAt ?? Date.now();
    await knex(TABLE).insert({
      component: rollback.component,
      site: rollback.site,
      rollback_id: rollbackId,
      host: rollback.host,
      backup_id: rollback.backupId,
      from_version: rollback.fromVersion,
      to_version: rollback.toVersion,
      rollback_type: rollback.type,
      mode: rollback.mode,
      status: 'running',
      started_at: startedAt,
      steps: JSON.stringify(rollback.steps),
      error: clip(rollback.error),
    });
    return (await this.get(rollback.component, rollback.site, rollbackId))!;
  }

  async get(component: string, site: string, rollbackId: string): Promise<RollbackRecord | undefined> {
    const row = await this.#store.knex(TABLE).where({ component, site, rollback_id: rollbackId }).first();
    return row ? toRecord(row) : undefined;
  }

  /** Newest first. */
  async list(component: string, site: string, limit = 50): Promise<RollbackRecord[]> {
    const rows = await this.#store
      .knex(TABLE)
      .where({ component, site })
      .orderBy('started_at', 'desc')
      .orderBy('rollback_id', 'desc')
      .limit(limit);
    return rows.map(toRecord);
  }

  /** The rollback of this site that was started and never finished (interrupted, failed mid-way, or manual). */
  async unfinished(component: string, site: string): Promise<RollbackRecord | undefined> {
    const row = await this.#store
      .knex(TABLE)
      .where({ component, site })
      .whereIn('status', ['running', 'failed'])
      .orderBy('started_at', 'desc')
      .first();
    return row ? toRecord(row) : undefined;
  }

  /** Merges `patch` into one step's state. */
  async setStep(
    component: string,
    site: string,
    rollbackId: string,
    step: number,
    patch: Partial<RollbackStepState>,
  ): Promise<RollbackRecord> {
    const current = await this.get(component, site, rollbackId);
    if (!current) throw new Error(`rollback ${rollbackId} of ${component}/${site} is not in the history`);
    const merged: RollbackStepState = { ...(current.steps[step] ?? { status: 'pending' }), ...patch };
    const steps = { ...current.steps, [step]: merged };
    await this.#store
      .knex(TABLE)
      .where({ component, site, rollback_id: rollbackId })
      .update({ steps: JSON.stringify(steps), status: 'running', error: null });
    return { ...current, steps, status: 'running' };
  }

  /** Records how the rollback ended. `running` again re-opens it (a continuation). */
  async finish(
    component: string,
    site: string,
    rollbackId: string,
    status: RollbackStatus,
    error?: string,
  ): Promise<void> {
    const current = await this.get(component, site, rollbackId);
    if (!current) return;
    const now = Date.now();
    await this.#store
      .knex(TABLE)
      .where({ component, site, rollback_id: rollbackId })
      .update({
        status,
        ended_at: status === 'running' ? null : now,
        duration_ms: status === 'running' ? null : now - current.startedAt,
        error: clip(error),
      });
  }
}
