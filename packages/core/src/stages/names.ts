import { ErrorCodes, UpgradeKitError } from '../errors/index.js';

/** The eight cut-points at which a CI pipeline calls the upgrade, in order (seed 001 §5.1.1). */
export const STAGES = [
  'install',
  'resourceCheck',
  'businessCheck',
  'preUpgrade',
  'preStart',
  'postStart',
  'openTraffic',
  'postUpgrade',
] as const;

export type StageName = (typeof STAGES)[number];

/** Stages that only check; their steps default to idempotent and to the `stage` retry scope. */
export const CHECK_STAGES: readonly StageName[] = ['resourceCheck', 'businessCheck'];

/** Where a release task's stage lands among the cut-points (DESIGN §3). */
export const TASK_STAGES = { pre_stop: 'preUpgrade', in_stop: 'preStart', post_start: 'postStart' } as const;

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** Throws a clear error for a misspelt stage, with the nearest valid name. */
export function assertStage(name: unknown, where: string): asserts name is StageName {
  if (typeof name === 'string' && (STAGES as readonly string[]).includes(name)) return;
  const text = String(name);
  const nearest = [...STAGES].sort(
    (a, b) => distance(text.toLowerCase(), a.toLowerCase()) - distance(text.toLowerCase(), b.toLowerCase()),
  )[0];
  throw new UpgradeKitError(
    ErrorCodes.BAD_INPUT,
    `${where}: unknown stage ${JSON.stringify(name)}${nearest ? ` — did you mean "${nearest}"?` : ''} Stages are: ${STAGES.join(', ')}.`,
    { context: { stage: text, stages: STAGES } },
  );
}
