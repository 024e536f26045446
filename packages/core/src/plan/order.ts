import { TASK_STAGES } from '../model/internal.js';
import type { SourceLocation, Task, TaskStage } from '../release/index.js';

const STAGE_ORDER: readonly TaskStage[] = ['pre_stop', 'in_stop', 'post_start'];

/** A task as an out-of-order warning names it. */
export interface OrderedTaskRef {
  readonly id: string;
  readonly version: string;
  readonly stage: TaskStage;
  readonly datasource?: string;
}

/**
 * A plan across versions runs stage by stage, so a task an orchestration file moved to an earlier
 * stage runs before tasks of older versions in later stages — which it may need (2.16.7's ALTER
 * moved to `pre_stop` runs before 2.16.6's CREATE in `in_stop`). The release author tested the
 * override from the version just before; a site jumping several versions takes this order.
 */
export interface StageOrderWarning {
  /** Stable, for tools that match on it. */
  readonly code: 'PLAN_STAGE_ORDER';
  readonly task: OrderedTaskRef;
  /** The orchestration line that set the task's stage. */
  readonly override: SourceLocation;
  /** Tasks of older versions, on a datasource the task may touch, that now run after it. */
  readonly runsBefore: readonly OrderedTaskRef[];
  /** One line an operator reads. */
  readonly message: string;
}

const rank = (stage: TaskStage) => STAGE_ORDER.indexOf(stage);

/**
 * A task without a datasource (a tool or command that names none) gets every datasource in its
 * context, so it may depend on — or be depended on by — work on any of them.
 */
function mayShareData(a: Task, b: Task): boolean {
  return a.datasource === undefined || b.datasource === undefined || a.datasource === b.datasource;
}

function ref(task: Task): OrderedTaskRef {
  return {
    id: task.id,
    version: task.version,
    stage: task.stage,
    ...(task.datasource !== undefined ? { datasource: task.datasource } : {}),
  };
}

const cutPoint = (stage: TaskStage) => `${stage} (${TASK_STAGES[stage]})`;

/**
 * The overridden tasks of a plan that run ahead of older versions' work on the same datasource.
 * Only orchestration overrides are judged: a stage declared with the task is the order the author
 * chose, whereas an override is usually written against the previous version alone. `tasks` are
 * the plan's, in version order; `isOlder(a, b)` says whether version a is below version b.
 */
export function stageOrderWarnings(
  tasks: readonly Task[],
  isOlder: (a: string, b: string) => boolean,
): StageOrderWarning[] {
  const warnings: StageOrderWarning[] = [];
  for (const task of tasks) {
    if (!task.stageOverride) continue;
    const later = tasks.filter(
      (older) =>
        isOlder(older.version, task.version) &&
        rank(older.stage) > rank(task.stage) &&
        mayShareData(task, older),
    );
    if (later.length === 0) continue;
    const names = later.map((o) => `${o.id} (${o.version}, ${o.stage})`).join(', ');
    const where = `${task.stageOverride.file}:${task.stageOverride.line}`;
    warnings.push({
      code: 'PLAN_STAGE_ORDER',
      task: ref(task),
      override: task.stageOverride,
      runsBefore: later.map(ref),
      message:
        `${task.id} (${task.version}) runs in ${cutPoint(task.stage)}, set by ${where}, before older ` +
        `work on ${task.datasource ? `datasource ${task.datasource}` : 'any datasource'} it may need: ${names}`,
    });
  }
  return warnings;
}
