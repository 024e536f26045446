import { describeError } from '../errors/internal.js';
import { plural } from '../events/internal.js';
import type { Plan } from '../plan/index.js';
import type { Task, TaskStage } from '../release/index.js';
import type { ResolvedAssessOptions } from './options.js';
import { firstNumber, queryRows } from './sql.js';
import { duration, sectionStatus } from './status.js';
import type { CheckResult, DurationSection, StageEstimate, TaskEstimate } from './types.js';

const STAGES: readonly TaskStage[] = ['pre_stop', 'in_stop', 'post_start'];
const CUT_POINT: Record<TaskStage, string> = {
  pre_stop: 'preUpgrade',
  in_stop: 'preStart',
  post_start: 'postStart',
};

/** What to do about a long task, by where it runs (seed 001 §5.2.4: 优化建议). */
function advice(t: Pick<TaskEstimate, 'stage' | 'parallel' | 'unit'>): string {
  const parts: string[] = [];
  if (t.stage === 'in_stop')
    parts.push(
      'it runs while services are stopped: if it is compatible with the running version, move it to pre_stop or post_start',
    );
  if (!t.parallel) parts.push('split it (by table, partition or id range) into parts marked parallel');
  if (t.unit === 'rows') parts.push('batch the update and add the index it filters on');
  parts.push('schedule the window for it and set its timeout above the estimate');
  return `${parts.join('; ')}.`;
}

/** Volume queries by datasource and SQL: tasks on one table often ask the same thing. */
type QueryCache = Map<string, Promise<Record<string, unknown>[]>>;

async function taskVolume(
  task: Task,
  o: ResolvedAssessOptions,
  cache: QueryCache,
): Promise<{ volume?: number; basis: 'declared-volume' | 'queried-volume'; note?: string }> {
  const e = task.estimate ?? {};
  const unit = e.unit ?? (e.bytes !== undefined && e.rows === undefined ? 'bytes' : 'rows');
  const declared = unit === 'bytes' ? e.bytes : e.rows;
  if (e.query) {
    const connection = task.datasource ? o.connections[task.datasource] : undefined;
    if (!connection) {
      return {
        ...(declared === undefined ? {} : { volume: declared }),
        basis: 'declared-volume',
        note: `volume query not run: no connection for datasource "${task.datasource ?? '(none)'}"`,
      };
    }
    try {
      const key = `${task.datasource}\u0000${e.query}`;
      let pending = cache.get(key);
      if (!pending) {
        pending = queryRows(connection, e.query, {
          timeoutMs: o.duration.queryTimeoutMs,
          ...(o.signal ? { signal: o.signal } : {}),
        });
        cache.set(key, pending);
      }
      const rows = await pending;
      const volume = firstNumber(rows);
      if (volume !== undefined) return { volume, basis: 'queried-volume' };
      return {
        ...(declared === undefined ? {} : { volume: declared }),
        basis: 'declared-volume',
        note: 'volume query returned no number',
      };
    } catch (error) {
      return {
        ...(declared === undefined ? {} : { volume: declared }),
        basis: 'declared-volume',
        note: `volume query failed: ${describeError(error).message}`,
      };
    }
  }
  return { ...(declared === undefined ? {} : { volume: declared }), basis: 'declared-volume' };
}

async function estimateTask(
  task: Task,
  hop: number | undefined,
  o: ResolvedAssessOptions,
  cache: QueryCache,
): Promise<TaskEstimate> {
  const e = task.estimate;
  const head = {
    id: task.id,
    version: task.version,
    stage: task.stage,
    ...(hop === undefined ? {} : { hop }),
    parallel: e?.parallel === true,
  };
  if (e?.durationMs !== undefined) {
    return {
      ...head,
      durationMs: e.durationMs,
      basis: 'declared-duration',
      long: e.durationMs > o.duration.longTaskMs,
    };
  }
  if (!e || (e.rows === undefined && e.bytes === undefined && e.query === undefined)) {
    return { ...head, basis: 'unknown', long: false, note: 'no estimate declared' };
  }
  const unit = e.unit ?? (e.bytes !== undefined && e.rows === undefined ? 'bytes' : 'rows');
  const { volume, basis, note } = await taskVolume(task, o, cache);
  const rate = e.rate ?? o.duration.rates[unit];
  if (volume === undefined || rate === undefined) {
    return {
      ...head,
      basis: 'unknown',
      unit,
      ...(volume === undefined ? {} : { volume }),
      long: false,
      note: note ?? `no rate for ${unit}: set estimate.rate or the default rate of the assessment`,
    };
  }
  const durationMs = Math.round((volume / rate) * 1000);
  return {
    ...head,
    durationMs,
    basis,
    volume,
    unit,
    rate,
    long: durationMs > o.duration.longTaskMs,
    ...(note ? { note } : {}),
  };
}

/** Parallel tasks take the longest of them, serial ones add up, and the two parts follow each other. */
export function stageEstimate(tasks: readonly TaskEstimate[], stage: TaskStage, hop?: number): StageEstimate {
  const parallel = tasks.filter((t) => t.parallel);
  const serial = tasks.filter((t) => !t.parallel);
  const durationMs =
    Math.max(0, ...parallel.map((t) => t.durationMs ?? 0)) +
    serial.reduce((a, t) => a + (t.durationMs ?? 0), 0);
  const longest = [...tasks].sort((a, b) => (b.durationMs ?? 0) - (a.durationMs ?? 0))[0];
  return {
    stage,
    cutPoint: CUT_POINT[stage],
    ...(hop === undefined ? {} : { hop }),
    durationMs,
    tasks: tasks.length,
    parallelTasks: parallel.length,
    unestimated: tasks.filter((t) => t.durationMs === undefined).length,
    ...(longest?.durationMs ? { longest: longest.id } : {}),
  };
}

/**
 * Duration section (seed 001 §5.2.4): each task from its declared duration, or its volume
 * (declared, or queried now) over its rate; per stage, per hop, in total; the time with services
 * stopped; and tasks over the long-task threshold flagged with advice.
 */
export async function assessDuration(
  hops: readonly Plan[],
  o: ResolvedAssessOptions,
): Promise<DurationSection> {
  const multi = hops.length > 1;
  const jobs = hops.flatMap((plan, hop) =>
    plan.tasks.map((task) => ({ task, hop: multi ? hop : undefined })),
  );
  // Volume queries run a few at a time; nothing else here waits on anything.
  const tasks: TaskEstimate[] = new Array(jobs.length);
  const cache: QueryCache = new Map();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(o.quality.concurrency, jobs.length) }, async () => {
      while (next < jobs.length) {
        const i = next++;
        tasks[i] = await estimateTask(jobs[i]!.task, jobs[i]!.hop, o, cache);
      }
    }),
  );
  for (const p of o.plugins) {
    for (const pe of p.estimate ?? []) {
      const at = tasks.findIndex((t) => t.id === pe.task && t.basis === 'unknown');
      const unit = pe.dataBytes !== undefined ? 'bytes' : pe.rows !== undefined ? 'rows' : undefined;
      const estimate: TaskEstimate = {
        id: pe.task,
        stage: pe.stage ?? tasks[at]?.stage ?? 'pre_stop',
        ...(tasks[at]?.version ? { version: tasks[at].version } : {}),
        durationMs: pe.durationMs,
        basis: 'plugin',
        ...(unit ? { unit, volume: unit === 'bytes' ? pe.dataBytes : pe.rows } : {}),
        ...((pe.bytesPerSecond ?? pe.rowsPerSecond) ? { rate: pe.bytesPerSecond ?? pe.rowsPerSecond } : {}),
        parallel: pe.parallel === true,
        long: pe.durationMs > o.duration.longTaskMs,
        note: `estimated by plugin ${p.name}`,
      };
      if (at === -1) tasks.push(estimate);
      else tasks[at] = estimate;
    }
  }
  const withAdvice = tasks.map((t) => (t.long ? { ...t, note: advice(t) } : t));
  const stages: StageEstimate[] = [];
  for (let hop = 0; hop < hops.length; hop++) {
    for (const stage of STAGES) {
      const inStage = withAdvice.filter((t) => t.stage === stage && (multi ? t.hop === hop : true));
      if (inStage.length > 0) stages.push(stageEstimate(inStage, stage, multi ? hop : undefined));
    }
  }
  const totalMs = stages.reduce((a, s) => a + s.durationMs, 0);
  const downtimeMs = stages.filter((s) => s.stage === 'in_stop').reduce((a, s) => a + s.durationMs, 0);
  const critical = [...withAdvice].sort((a, b) => (b.durationMs ?? 0) - (a.durationMs ?? 0))[0];
  const unestimated = withAdvice.filter((t) => t.durationMs === undefined).map((t) => t.id);
  const checks: CheckResult[] = [];
  for (const t of withAdvice) {
    if (!t.long) continue;
    checks.push({
      id: `duration.${t.id}`,
      title: `Long task ${t.id}`,
      status: 'warn',
      detail: `estimated ${duration(t.durationMs)} in ${t.stage}${t.volume !== undefined && t.rate ? ` (${t.volume} ${t.unit} at ${t.rate}/s)` : ''}, over ${duration(o.duration.longTaskMs)}`,
      suggestion: t.note ?? advice(t),
      data: { durationMs: t.durationMs, stage: t.stage },
    });
  }
  for (const hopPlan of hops) {
    for (const task of hopPlan.tasks) {
      const est = withAdvice.find((t) => t.id === task.id && t.version === task.version);
      if (task.timeoutMs && est?.durationMs && est.durationMs > task.timeoutMs) {
        checks.push({
          id: `duration.timeout.${task.id}`,
          title: `Timeout of ${task.id}`,
          status: 'warn',
          detail: `estimated ${duration(est.durationMs)} but its timeout is ${duration(task.timeoutMs)}: it would be stopped`,
          suggestion: `Raise the timeout of ${task.id} (${task.source.file}:${task.source.line}) above the estimate.`,
        });
      }
    }
  }
  // A sum of nothing is not 0ms: tasks without an estimate make no total.
  const stopped = stages.filter((s) => s.stage === 'in_stop');
  const downtimeKnown = stopped.every((s) => s.unestimated < s.tasks);
  checks.push({
    id: 'duration.total',
    title: 'Estimated duration',
    status: 'pass',
    detail:
      withAdvice.length === 0
        ? 'no tasks: nothing to estimate'
        : unestimated.length === withAdvice.length
          ? `no estimate — ${withAdvice.length === 1 ? 'the task declares none' : `none of the ${withAdvice.length} tasks declares one`}; set estimate: on the tasks that may take long`
          : `total ${duration(totalMs)}, services stopped for ${downtimeKnown ? duration(downtimeMs) : 'an unknown time (no estimate)'}${
              critical?.durationMs ? `; critical task ${critical.id} (${duration(critical.durationMs)})` : ''
            }${unestimated.length ? `; ${plural(unestimated.length, 'task')} without an estimate left out` : ''}`,
    data: { totalMs, downtimeMs },
  });
  return {
    status: sectionStatus(checks),
    checks,
    tasks: withAdvice,
    stages,
    totalMs,
    downtimeMs,
    ...(critical?.durationMs ? { critical: critical.id } : {}),
    unestimated,
  };
}
