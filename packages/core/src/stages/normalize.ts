import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { Criticality, Hook, RetryScope, StageName, StepDefinition } from '../model/index.js';
import { CHECK_STAGES } from '../model/internal.js';
import type { TimeoutCategory } from '../resilience/index.js';
import type { StepKey } from '../state/index.js';
import { stepKeyString } from '../state/internal.js';
import { parseVersion } from '../version/index.js';

export interface RetrySettings {
  readonly attempts: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
  readonly jitter: boolean;
}

/** A step with every default applied and its identity computed; what the executor runs. */
export interface PlannedStep {
  readonly definition: StepDefinition<StageName>;
  readonly stage: StageName;
  readonly id: string;
  readonly name: string;
  readonly host: string;
  readonly key: StepKey;
  readonly timeoutMs: number;
  readonly kind: TimeoutCategory | undefined;
  readonly retry: RetrySettings;
  readonly scope: RetryScope;
  readonly criticality: Criticality;
  readonly idempotent: boolean;
}

export interface Defaults {
  readonly timeoutMs: number;
  readonly retry: RetrySettings;
}

const SCOPE = /^(step|stage|run|from:.+)$/;
const CRITICALITY = new Set(['core', 'business', 'optional']);

function bad(where: string, message: string, context: Record<string, unknown>): UpgradeKitError {
  return new UpgradeKitError(ErrorCodes.BAD_INPUT, `${where}: ${message}`, { context });
}

/** Turns a hook (a function or a definition) into a definition; function hooks get a stable id. */
export function hookToDefinition<S extends StageName>(
  stage: S,
  hook: Hook<S>,
  index: number,
): StepDefinition<S> {
  if (typeof hook === 'function') {
    // A named function keeps its identity when other hooks are added before it.
    const id =
      hook.name && hook.name !== 'anonymous' ? `${stage}:${hook.name}` : `${stage}:hook-${index + 1}`;
    return { id, run: hook };
  }
  return hook;
}

/** Validates one step definition and applies the defaults. */
export function planStep(
  stage: StageName,
  definition: StepDefinition<StageName>,
  context: { component: string; site: string; to: string; defaults: Defaults },
): PlannedStep {
  const where = `step ${JSON.stringify((definition as { id?: unknown })?.id ?? '?')} in stage ${stage}`;
  if (!definition || typeof definition !== 'object')
    throw bad(where, 'expected a function or a step object', { stage });
  if (typeof definition.id !== 'string' || definition.id.trim() === '') {
    throw bad(where, '`id` must be a non-empty string', { stage });
  }
  if (definition.id.length > 191)
    throw bad(where, '`id` must be at most 191 characters', { stage, id: definition.id });
  if (typeof definition.run !== 'function')
    throw bad(where, '`run` must be a function', { stage, id: definition.id });
  for (const field of ['skipIf', 'cleanup'] as const) {
    if (definition[field] !== undefined && typeof definition[field] !== 'function') {
      throw bad(where, `\`${field}\` must be a function`, { stage, id: definition.id });
    }
  }
  if (definition.timeoutMs !== undefined && !(definition.timeoutMs > 0)) {
    throw bad(where, `\`timeoutMs\` must be a positive number (got ${String(definition.timeoutMs)})`, {
      id: definition.id,
    });
  }
  if (definition.stopGraceMs !== undefined && !(definition.stopGraceMs >= 0)) {
    throw bad(
      where,
      `\`stopGraceMs\` must be a number of milliseconds ≥ 0 (got ${String(definition.stopGraceMs)})`,
      {
        id: definition.id,
      },
    );
  }
  if (definition.scope !== undefined && !SCOPE.test(definition.scope)) {
    throw bad(where, '`scope` must be "step", "stage", "run" or "from:<stepId>"', { id: definition.id });
  }
  if (definition.criticality !== undefined && !CRITICALITY.has(definition.criticality)) {
    throw bad(where, '`criticality` must be "core", "business" or "optional"', { id: definition.id });
  }
  const attempts = definition.retry?.attempts;
  if (attempts !== undefined && !(Number.isInteger(attempts) && attempts >= 1)) {
    throw bad(where, `\`retry.attempts\` must be a whole number ≥ 1 (got ${String(attempts)})`, {
      id: definition.id,
    });
  }
  const isCheck = CHECK_STAGES.includes(stage);
  const version = parseVersion(definition.version ?? context.to).canonical;
  const host = definition.host ?? '';
  return {
    definition,
    stage,
    id: definition.id,
    name: definition.name ?? definition.id,
    host,
    key: {
      component: context.component,
      site: context.site,
      host,
      taskVersion: version,
      taskId: definition.id,
    },
    timeoutMs: definition.timeoutMs ?? context.defaults.timeoutMs,
    kind: definition.kind,
    retry: { ...context.defaults.retry, ...definition.retry },
    scope: definition.scope ?? (isCheck ? 'stage' : 'step'),
    criticality: definition.criticality ?? 'core',
    idempotent: definition.idempotent ?? isCheck,
  };
}

/** Where a step came from, for messages that name two of them. */
function whereDeclared(step: PlannedStep, position: number): string {
  return step.definition.source ?? `step ${position + 1} of stage ${step.stage}`;
}

/**
 * Where a step's record is filed in the map `StateStore.loadSteps` returns: (host, version, id).
 * Files that read records by step get the key here, not from the state folder's internals.
 */
export function recordKey(step: Pick<PlannedStep, 'key'>): string {
  return stepKeyString(step.key);
}

/**
 * Steps already in an upgrade, by identity — (host, version, id), what the state keys them by —
 * so that a step that would share a state row with another is refused when it is added.
 */
export class StepIdentities {
  readonly #seen = new Map<string, string>();

  /** Records `step` (the `position`-th of its stage), or refuses it when its identity is taken. */
  add(step: PlannedStep, position: number): void {
    const identity = recordKey(step);
    const where = whereDeclared(step, position);
    const first = this.#seen.get(identity);
    if (first !== undefined) {
      throw bad(
        `stage ${step.stage}`,
        `two steps share the id "${step.id}" in version ${step.key.taskVersion}${step.host ? ` on host ${step.host}` : ''} (${first}, and ${where}); within one version, ids must be unique`,
        { stage: step.stage, id: step.id, version: step.key.taskVersion, first, second: where },
      );
    }
    this.#seen.set(identity, where);
  }
}

/**
 * The step a `from:<id>` scope restarts at: an earlier step of the stage with that id — of the
 * same version when the id repeats across versions, else the nearest one before. -1 when none.
 */
export function scopeTarget(steps: readonly PlannedStep[], index: number): number {
  const step = steps[index]!;
  const target = step.scope.slice(5);
  let nearest = -1;
  for (let i = 0; i <= index; i++) {
    const candidate = steps[i]!;
    if (candidate.id !== target) continue;
    if (candidate.key.taskVersion === step.key.taskVersion) return i;
    nearest = i;
  }
  return nearest;
}

/** Checks that every `from:` scope of a stage names a step that exists and comes first. */
export function checkStageSteps(stage: StageName, steps: readonly PlannedStep[]): void {
  steps.forEach((step, index) => {
    if (!step.scope.startsWith('from:')) return;
    const target = step.scope.slice(5);
    if (!steps.some((s) => s.id === target)) {
      throw bad(
        `step "${step.id}" in stage ${stage}`,
        `\`scope\` names "${target}", which is not a step of this stage`,
        { stage, id: step.id },
      );
    }
    if (scopeTarget(steps, index) === -1) {
      throw bad(
        `step "${step.id}" in stage ${stage}`,
        `\`scope\` "from:${target}" must name an earlier step`,
        {
          stage,
          id: step.id,
        },
      );
    }
  });
}

/** How a result names its step: id, name, stage, the version that introduced it, and its host. */
export function stepNaming(step: PlannedStep) {
  return {
    id: step.id,
    name: step.name,
    stage: step.stage,
    version: step.key.taskVersion,
    ...(step.host ? { host: step.host } : {}),
  };
}
