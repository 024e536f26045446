import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { anObject, checkArguments } from '../options/index.js';
import type { Release, Task } from '../release/index.js';
import {
  type CompatibilityMatrix,
  compareVersions,
  type PathHop,
  parseVersion,
  planPath,
  type UpgradePath,
} from '../version/index.js';
import { type Plan, plan } from './plan.js';

/** Where a route can be rolled back to: the backup taken before a hop. */
export interface RoutePoint {
  readonly id: string;
  readonly version: string;
  readonly description: string;
}

export interface RouteHop extends PathHop {
  /** What this hop runs, planned from its own source version. */
  readonly plan: Plan;
  /** Back up here before the hop starts; a failed hop rolls back to it. */
  readonly rollbackPoint: RoutePoint;
}

/** A multi-hop upgrade (seed 004 §4.7): the path, and per hop its plan and rollback point. */
export interface UpgradeRoute {
  readonly kind: 'route';
  readonly component: string;
  readonly from: string;
  readonly to: string;
  readonly site?: string;
  readonly path: UpgradePath;
  readonly hops: readonly RouteHop[];
  /** Every hop's tasks, hop after hop. */
  readonly tasks: readonly Task[];
  /** `stop` when any hop must stop. */
  readonly mode: 'rolling' | 'stop';
}

export interface PlanRouteInput {
  readonly release: Release;
  readonly from: string;
  readonly to: string;
  readonly site?: string;
  /** Default: the release's `compatibility` matrix. Without either, the upgrade is one hop. */
  readonly matrix?: CompatibilityMatrix;
}

/** True for the result of {@link planRoute}. */
export function isRoute(value: Plan | UpgradeRoute): value is UpgradeRoute {
  return (value as UpgradeRoute).kind === 'route';
}

/**
 * Plans an upgrade over the release's compatibility matrix: the path from {@link planPath}
 * (a jump where allowed, else the fewest hops, ties broken by the matrix's hop estimates), each
 * hop planned from its own source so compatibility is judged per hop, and a rollback point
 * before each hop. (Task durations cannot break ties: every route runs each task exactly once.)
 *
 * @example
 * const route = planRoute({ release, from: '1.0.0', to: '2.2.0', site: 'site-042' });
 * route.hops.map((h) => `${h.rollbackPoint.id}: ${h.from} → ${h.to} (${h.plan.tasks.length} tasks)`);
 */
export function planRoute(input: PlanRouteInput): UpgradeRoute {
  checkArguments('planRoute', { input: anObject('{ release, from, to }') }, { input });
  const from = parseVersion(input.from).canonical;
  const to = parseVersion(input.to).canonical;
  const matrix = input.matrix ?? input.release.compatibility;
  let path: UpgradePath;
  if (matrix) {
    path = planPath(matrix, from, to);
  } else {
    if (compareVersions(from, to) >= 0) {
      throw new UpgradeKitError(ErrorCodes.BAD_INPUT, `planRoute: the target ${to} is not above ${from}`, {
        context: { from, to },
      });
    }
    path = { from, to, mode: 'jump', hops: [{ from, to, mode: 'jump' }] };
  }
  const hops: RouteHop[] = path.hops.map((hop, i) => ({
    ...hop,
    plan: plan({
      release: input.release,
      from: hop.from,
      to: hop.to,
      ...(input.site !== undefined ? { site: input.site } : {}),
    }),
    rollbackPoint: {
      id: `before-hop-${i + 1}`,
      version: hop.from,
      description: `full backup of ${input.release.component} at ${hop.from}, before upgrading to ${hop.to}`,
    },
  }));
  return Object.freeze({
    kind: 'route',
    component: input.release.component,
    from,
    to,
    ...(input.site !== undefined ? { site: input.site } : {}),
    path,
    hops,
    tasks: hops.flatMap((h) => h.plan.tasks),
    mode: hops.every((h) => h.plan.mode === 'rolling') ? 'rolling' : 'stop',
  });
}
