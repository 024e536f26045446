import { TASK_STAGES } from '../model/internal.js';
import { anObject, checkArguments } from '../options/index.js';
import type { Plan } from '../plan/index.js';
import type { Upgrade } from '../stages/index.js';
import { commandStep, toolStep } from './run-program.js';
import { type TaskRunOptions, taskStep } from './run-task.js';

/**
 * Adds every SQL and ClickHouse task of a plan to an upgrade, at its cut-point, in plan order.
 *
 * @example
 * const p = plan({ release, from: '2.16.5', to: '2.16.7', site: 'site-042' });
 * addPlanSteps(upgrade, p, { release, connections: { main: knex } });
 * await upgrade.runStage('preStart');
 */
export function addPlanSteps(upgrade: Upgrade, plan: Plan, options: TaskRunOptions): void {
  checkArguments(
    'addPlanSteps',
    {
      upgrade: anObject('an Upgrade (createUpgrade())'),
      plan: anObject('a plan (plan())'),
      options: anObject('{ release, connections, placeholders? }'),
    },
    { upgrade, plan, options },
  );
  // Build every step first: a bad task fails before any is added.
  const steps = plan.tasks.map((t) => {
    const step =
      t.kind === 'command'
        ? commandStep(t, options.release)
        : t.kind === 'tool'
          ? toolStep(t, options.release)
          : taskStep(t, options);
    return [t, step] as const;
  });
  for (const [task, step] of steps) upgrade.step(TASK_STAGES[task.stage], step);
}
