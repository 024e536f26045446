import { z } from 'zod';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { TASK_STAGES } from '../model/internal.js';
import { anObject, checkArguments } from '../options/index.js';
import type { Release, Task, TaskStage } from '../release/index.js';
import { defaultVersionScheme, parseVersion, type Version } from '../version/index.js';
import { type StageOrderWarning, stageOrderWarnings } from './order.js';

export type UpgradeMode = 'rolling' | 'stop';

/** Why a task forces a stop-mode upgrade (seed 001 §5.2.3). */
export interface IncompatibleTask {
  readonly id: string;
  readonly version: string;
  readonly compatibleFrom?: string;
  readonly reason: string;
  /** No compatibility annotation: someone must confirm it is safe. */
  readonly needsConfirmation: boolean;
}

export interface SkippedTask {
  readonly id: string;
  readonly version: string;
  readonly reason: string;
}

export interface Plan {
  readonly component: string;
  readonly from: string;
  readonly to: string;
  readonly site?: string;
  /** Tasks to run, by version then declaration order. */
  readonly tasks: readonly Task[];
  /** The same tasks per cut-point. */
  readonly stages: Readonly<Record<'preUpgrade' | 'preStart' | 'postStart', readonly Task[]>>;
  readonly mode: UpgradeMode;
  readonly incompatible: readonly IncompatibleTask[];
  /** Tasks in the version range left out for this site. */
  readonly excluded: readonly SkippedTask[];
  /**
   * Tasks an orchestration override runs ahead of older versions' work on the same datasource.
   * `run` asks for a confirmation before it runs them.
   */
  readonly orderWarnings: readonly StageOrderWarning[];
}

export interface PlanInput {
  readonly release: Release;
  readonly from: string;
  readonly to: string;
  readonly site?: string;
  /**
   * Plan a target past the newest version the release names (its last tasks, then nothing) instead
   * of refusing it. For judging a recorded upgrade, never for running one.
   */
  readonly pastNewest?: boolean;
}

function forSite(task: Task, site: string | undefined): string | undefined {
  const { include, exclude } = task.sites ?? {};
  if (site === undefined) return include ? 'runs only on listed sites and no site was given' : undefined;
  if (include && !include.includes(site)) return `site ${site} is not in its include list`;
  if (exclude?.includes(site)) return `site ${site} is in its exclude list`;
  return undefined;
}

/**
 * Which tasks an upgrade from `from` to `to` runs on a site, in which order and stage, and
 * whether it can roll (every task compatible with the running `from`) or must stop. Pure: no I/O.
 *
 * @example
 * const p = plan({ release, from: '2.16.5', to: '2.16.7', site: 'site-042' });
 * p.mode // 'stop'
 * p.incompatible // [{ id: 'alter_orders', reason: 'compatible from 2.16.6 only; running 2.16.5' }]
 */
export function plan(input: PlanInput): Plan {
  checkArguments('plan', { input: anObject('{ release, from, to, site? }') }, { input });
  checkArguments(
    'plan',
    { release: anObject('a release (loadRelease(dir))'), from: z.string(), to: z.string() },
    { release: input.release, from: input.from, to: input.to },
  );
  // Releases repeat the same few versions thousands of times: parse each once.
  const parsed = new Map<string, Version>();
  const version = (text: string) => {
    let v = parsed.get(text);
    if (!v) {
      v = parseVersion(text);
      parsed.set(text, v);
    }
    return v;
  };
  const compare = (a: string, b: string) => defaultVersionScheme.compare(version(a), version(b));
  const from = version(input.from).canonical;
  const to = version(input.to).canonical;
  if (compare(from, to) >= 0) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `plan: the target ${to} is not above the running version ${from}; to go back, roll back instead`,
      { context: { from, to } },
    );
  }
  const newest = input.release.newest;
  if (newest && !input.pastNewest && compare(to, newest) > 0) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `plan: the target ${to} is past the newest version of release ${input.release.component}, ${newest}; give a target it reaches, or (when ${to} changes nothing here) add an empty versions/${to}/ directory to the release`,
      { context: { from, to, newest } },
    );
  }
  const tasks: Task[] = [];
  const excluded: SkippedTask[] = [];
  for (const task of input.release.tasks) {
    // (from, to]: what is already running needs no upgrade to get there.
    if (compare(task.version, from) <= 0 || compare(task.version, to) > 0) continue;
    const reason = forSite(task, input.site);
    if (reason) excluded.push({ id: task.id, version: task.version, reason });
    else tasks.push(task);
  }
  const incompatible: IncompatibleTask[] = [];
  for (const task of tasks) {
    if (task.compatibleFrom === undefined) {
      incompatible.push({
        id: task.id,
        version: task.version,
        reason: 'no compatibleFrom annotation: treated as incompatible until confirmed',
        needsConfirmation: true,
      });
    } else if (compare(task.compatibleFrom, from) > 0) {
      incompatible.push({
        id: task.id,
        version: task.version,
        compatibleFrom: task.compatibleFrom,
        reason: `compatible from ${task.compatibleFrom} only; running ${from}`,
        needsConfirmation: false,
      });
    }
  }
  const byStage = (stage: TaskStage) => tasks.filter((t) => t.stage === stage);
  return Object.freeze({
    component: input.release.component,
    from,
    to,
    ...(input.site !== undefined ? { site: input.site } : {}),
    tasks,
    stages: {
      [TASK_STAGES.pre_stop]: byStage('pre_stop'),
      [TASK_STAGES.in_stop]: byStage('in_stop'),
      [TASK_STAGES.post_start]: byStage('post_start'),
    } as Plan['stages'],
    mode: incompatible.length === 0 ? 'rolling' : 'stop',
    incompatible,
    excluded,
    orderWarnings: stageOrderWarnings(tasks, (a, b) => compare(a, b) < 0),
  });
}
