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

/** Loads the release from disk (again, after a fix) and plans 1.0.0 → 1.1.0 into a fresh upgrade. */
export async function prepareRelease(
  dir: string,
  connection: Connection,
  state: StateOptions | StateStore,
  placeholders: Record<string, string> = {},
) {
  const release = await loadRelease(dir);
  const upgrade = createUpgrade({
    component: 'orders',
    from: '1.0.0',
    to: '1.1.0',
    site: 's1',
    state,
    events: new EventBus(),
  });
  addPlanSteps(upgrade, plan({ release, from: '1.0.0', to: '1.1.0' }), {
    release,
    connections: { main: connection },
    placeholders,
  });
  return upgrade;
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
