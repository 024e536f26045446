// What the SQL runner's test files share: a release written to disk, and one upgrade 1.0.0 → 1.1.0
// planned from it and run through preStart (where `in_stop` tasks run).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  addPlanSteps,
  type Connection,
  createUpgrade,
  EventBus,
  loadRelease,
  plan,
  type StateOptions,
  type StateStore,
} from '@upgradekit/core';

/** Writes component `orders` with one datasource `main` of `type`, and 1.1.0's tasks and files. */
export function writeRelease(
  dir: string,
  type: string,
  files: Record<string, string>,
  tasks: string,
): string {
  const all = {
    'upgradekit.yaml': `component: orders\ndatasources:\n  main: { type: ${type} }\ndefaults:\n  datasource: main\n`,
    'versions/1.1.0/tasks.yaml': tasks,
    ...files,
  };
  for (const [path, content] of Object.entries(all)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

export interface PlanOptions {
  /** Default `orders`. */
  readonly component?: string;
  /** Default 1.1.0. */
  readonly to?: string;
  readonly events?: EventBus;
  readonly placeholders?: Record<string, string>;
  readonly estimateIntervalMs?: number;
}

/** Loads the release from disk (again, after a fix) and plans 1.0.0 → `to` into a fresh upgrade of site s1. */
export async function planUpgrade(
  dir: string,
  connection: Connection,
  state: StateOptions | StateStore,
  { component = 'orders', to = '1.1.0', events = new EventBus(), ...steps }: PlanOptions = {},
) {
  const release = await loadRelease(dir);
  const upgrade = createUpgrade({ component, from: '1.0.0', to, site: 's1', state, events });
  addPlanSteps(upgrade, plan({ release, from: '1.0.0', to }), {
    release,
    connections: { main: connection },
    ...steps,
  });
  return upgrade;
}

/** {@link planUpgrade} of `orders` 1.0.0 → 1.1.0 with `placeholders`. */
export function prepareRelease(
  dir: string,
  connection: Connection,
  state: StateOptions | StateStore,
  placeholders: Record<string, string> = {},
) {
  return planUpgrade(dir, connection, state, { placeholders });
}

/** {@link prepareRelease}, then runs preStart and closes. */
export async function runOnce(
  dir: string,
  connection: Connection,
  state: StateOptions | StateStore,
  placeholders: Record<string, string> = {},
) {
  const upgrade = await prepareRelease(dir, connection, state, placeholders);
  try {
    return await upgrade.runStage('preStart');
  } finally {
    await upgrade.close();
  }
}
