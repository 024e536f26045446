import type { Knex } from 'knex';
import type { Dialect } from './open.js';
import type { LogRecord, RunRecord, RunStatus, StepKey, StepRecord, StepStatus } from './types.js';

/** Masks secrets in what is stored (see StateStore.maskWith); the identity until one is given. */
export type Mask = <T>(value: T) => T;
export const unmasked: Mask = (value) => value;

/** What the step and run queries need of the store: its database, and the mask for what they store. */
export interface StateDb {
  readonly knex: Knex;
  readonly dialect: Dialect;
  readonly mask: Mask;
}

const MAX_ERROR = 4000;

export function clip(text: string | undefined, mask: Mask = unmasked): string | null {
  if (text === undefined) return null;
  const masked = mask(text);
  return masked.length > MAX_ERROR ? `${masked.slice(0, MAX_ERROR)}…` : masked;
}

/** A failure's fields as stored: small by construction, clipped anyway so no column overflows. */
export function detailJson(
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

function optional<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A step's identity and name, as `upgradekit_steps` and `upgrade_log` both store them. */
function stepOf(row: Record<string, unknown>) {
  return {
    component: String(row.component),
    site: String(row.site),
    host: String(row.host),
    taskVersion: String(row.task_version),
    taskId: String(row.task_id),
    taskName: String(row.task_name),
  };
}

export function toStep(row: Record<string, unknown>): StepRecord {
  return {
    ...stepOf(row),
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

export function toRun(row: Record<string, unknown>): RunRecord {
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

export function toLog(row: Record<string, unknown>): LogRecord {
  return {
    id: Number(row.id),
    runId: String(row.run_id),
    ...stepOf(row),
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

export function keyWhere(key: StepKey) {
  return {
    component: key.component,
    site: key.site,
    host: key.host,
    task_version: key.taskVersion,
    task_id: key.taskId,
  };
}
