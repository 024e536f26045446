import type { StepContext } from '../model/index.js';
import type { Task } from '../release/index.js';
import { DurationTracker } from './tracker.js';

/** What the runner tells the tracking of one task while its statements run. */
export interface EstimateTracking {
  /** Statement `index` (0-based, of the whole file) finished with the driver's `result`. */
  statementDone(index: number, result: unknown): void;
  /** The task ended, either way: stop sampling. */
  end(): void;
}

export interface TrackEstimateOptions {
  /** Statements in the task's file. */
  readonly statements: number;
  /** The statement this attempt starts at (a resume starts past the ones already done). */
  readonly startAt: number;
  /** How often the actual rate is measured (the seed's 30 s). */
  readonly intervalMs: number;
  /** Runs `estimate.query` on the task's datasource and returns its number. */
  readonly queryVolume: (sql: string) => Promise<number>;
}

/**
 * Rows the database says a statement wrote: mysql2's `affectedRows`, pg's `rowCount`, SQLite's
 * `changes`, ClickHouse's `summary.written_rows` (servers that send the summary header).
 */
export function affectedRows(result: unknown): number | undefined {
  const first = Array.isArray(result) ? result[0] : result;
  if (!first || typeof first !== 'object') return undefined;
  const r = first as Record<string, unknown>;
  for (const key of ['affectedRows', 'rowCount', 'changes']) {
    if (typeof r[key] === 'number') return r[key] as number;
  }
  const written = (r.summary as { written_rows?: unknown } | undefined)?.written_rows;
  return written === undefined ? undefined : Number(written);
}

/**
 * Follows a task that declares an `estimate` while it runs (issue 6, seed 001 §5.2.4 动态调整):
 * a {@link DurationTracker} measures the actual rate every `intervalMs` and, when it is off the
 * estimate by more than 20%, emits an `estimate.corrected` log event with the new remaining time.
 *
 * - a volume (`rows`/`bytes`, or `query` run now) over `rate` — or over `duration`, which wins as
 *   in the assessment: progress is the rows the database reports written; where it reports none
 *   (DDL, older ClickHouse) or the unit is bytes, the share of statements done times the volume.
 * - a `duration` alone: the statements are the work, at statements ÷ duration per second.
 *
 * Estimation is advice: a failing volume query is logged and the task runs untracked.
 */
export async function trackEstimate(
  task: Task,
  ctx: StepContext,
  o: TrackEstimateOptions,
): Promise<EstimateTracking | undefined> {
  const estimate = task.estimate;
  const left = o.statements - o.startAt;
  if (!estimate || left <= 0) return undefined;
  // Events carry the stage and run like every other event of the step.
  const events = {
    emit: (e: Parameters<StepContext['events']['emit']>[0]) =>
      ctx.events.emit({ ...e, stage: ctx.stage, runId: ctx.runId }),
  };

  const unit =
    estimate.unit ?? (estimate.rows === undefined && estimate.bytes !== undefined ? 'bytes' : 'rows');
  let volume = unit === 'bytes' ? estimate.bytes : estimate.rows;
  if (volume === undefined && estimate.query && (estimate.rate ?? estimate.durationMs) !== undefined) {
    try {
      volume = await o.queryVolume(estimate.query);
    } catch (error) {
      ctx.log.warn(
        `task ${task.id}: the estimate query failed, so its duration is not tracked: ${(error as Error).message}`,
      );
      return undefined;
    }
  }
  // As the assessment does: a fixed duration wins over volume ÷ rate. Without a volume, the
  // statements are the work.
  const byStatements = estimate.durationMs !== undefined && volume === undefined;
  if (byStatements) volume = o.statements;
  let rate: number | undefined;
  if (volume !== undefined && estimate.durationMs !== undefined) rate = volume / (estimate.durationMs / 1000);
  else rate = estimate.rate;
  if (volume === undefined || rate === undefined || !(volume > 0) || !(rate > 0)) return undefined;
  // A resume has only the remaining statements' share of the work left.
  const total = (volume * left) / o.statements;

  const tracker = new DurationTracker({
    tasks: [{ id: task.id, volume: total, rate, ...(byStatements ? {} : { unit }) }],
    events,
    intervalMs: o.intervalMs,
  });
  tracker.begin(task.id);
  tracker.start();
  let written = 0;
  return {
    statementDone(index, result) {
      const done = index + 1 - o.startAt;
      if (byStatements) return tracker.progress(task.id, done);
      const rows = unit === 'rows' ? affectedRows(result) : undefined;
      if (rows !== undefined) written += rows;
      tracker.progress(task.id, written > 0 ? written : (total * done) / left);
    },
    end() {
      tracker.stop();
    },
  };
}
