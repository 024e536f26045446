import { holderIdentity } from './liveness.js';
import { clip, type StateDb, toLog, toRun } from './rows.js';
import type { LogRecord, RunRecord, RunStatus } from './types.js';

// The queries on `upgradekit_runs` and the reading of `upgrade_log`. StateStore is their face.

/** Which `upgrade_log` rows to read: all of a run, or of a component and site (and task). */
export interface LogFilter {
  runId?: string;
  component?: string;
  site?: string;
  taskId?: string;
}

export async function startRun(
  db: StateDb,
  run: Omit<RunRecord, 'status' | 'endedAt' | 'error'>,
): Promise<void> {
  const self = run.pid === process.pid && run.bootId === undefined ? holderIdentity() : run;
  await db.knex('upgradekit_runs').insert({
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

export async function finishRun(
  db: StateDb,
  runId: string,
  status: RunStatus,
  error?: string,
): Promise<void> {
  await db
    .knex('upgradekit_runs')
    .where({ run_id: runId })
    .update({ status, ended_at: Date.now(), error: clip(error, db.mask) });
}

export async function runs(
  db: StateDb,
  component: string,
  site: string,
  limit: number,
): Promise<RunRecord[]> {
  const rows = await db
    .knex('upgradekit_runs')
    .where({ component, site })
    .orderBy('started_at', 'desc')
    .limit(limit);
  return rows.map(toRun);
}

export async function log(db: StateDb, filter: LogFilter): Promise<LogRecord[]> {
  const where: Record<string, string> = {};
  if (filter.runId !== undefined) where.run_id = filter.runId;
  if (filter.component !== undefined) where.component = filter.component;
  if (filter.site !== undefined) where.site = filter.site;
  if (filter.taskId !== undefined) where.task_id = filter.taskId;
  const rows = await db.knex('upgrade_log').where(where).orderBy('id', 'asc');
  return rows.map(toLog);
}
