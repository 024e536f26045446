import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { nearest } from './nearest.js';

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

/** A release's name for a cut-point (`tasks.yaml`'s `stage:`), accepted wherever a stage is. */
export type StageAlias = keyof typeof TASK_STAGES;

/** A stage as a caller may spell it: the cut-point's name, or the release's name for it. */
export type StageInput = StageName | StageAlias;

const ALIAS_OF: Readonly<Partial<Record<StageName, StageAlias>>> = Object.fromEntries(
  Object.entries(TASK_STAGES).map(([alias, stage]) => [stage, alias]),
);

/** Every spelling a stage has, for messages: `preStart (in_stop)`. */
export function stageLabel(stage: StageName): string {
  const alias = ALIAS_OF[stage];
  return alias ? `${stage} (${alias})` : stage;
}

/** The cut-point a name means (`in_stop` → `preStart`), or undefined when it means none. */
export function toStage(name: unknown): StageName | undefined {
  if (typeof name !== 'string') return undefined;
  if ((STAGES as readonly string[]).includes(name)) return name as StageName;
  return Object.hasOwn(TASK_STAGES, name) ? TASK_STAGES[name as StageAlias] : undefined;
}

/** Every accepted spelling, for messages: `…, preUpgrade (pre_stop), preStart (in_stop), …`. */
export const STAGE_SPELLINGS = STAGES.map(stageLabel).join(', ');

/** What a misspelt stage is told: the nearest spelling (either kind) and every stage. */
export function unknownStageMessage(name: unknown): string {
  const guess = nearest(String(name), [...STAGES, ...Object.keys(TASK_STAGES)]);
  return `unknown stage ${JSON.stringify(name)}${guess ? ` — did you mean "${guess}"?` : ''} Stages are: ${STAGE_SPELLINGS}.`;
}

/**
 * The cut-point a caller named, in either spelling (`in_stop` is `preStart`); a clear error with
 * the nearest valid name otherwise.
 */
export function parseStage(name: unknown, where = 'parseStage'): StageName {
  const stage = toStage(name);
  if (stage) return stage;
  throw new UpgradeKitError(ErrorCodes.BAD_INPUT, `${where}: ${unknownStageMessage(name)}`, {
    context: { stage: String(name), stages: STAGES },
  });
}
