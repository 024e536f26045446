import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { Hook, Hooks, StepDefinition } from '../model/index.js';
import { parseStage, STAGES, type StageName } from '../model/index.js';
import {
  checkStageSteps,
  type Defaults,
  hookToDefinition,
  type PlannedStep,
  planStep,
  StepIdentities,
} from './normalize.js';

/** What a step's plan derives from besides its definition: its identity and its defaults. */
export interface PlanScope {
  readonly component: string;
  readonly site: string;
  readonly to: string;
  readonly defaults: Defaults;
}

/**
 * The steps of an upgrade, stage by stage, as registered (`upgrade.step`, `upgrade.hooks.*`, the
 * `steps` and `hooks` options). Each step is planned and checked when it is added, so a bad one is
 * reported at registration, not halfway through an upgrade.
 */
export class StepRegistry {
  /** `upgrade.hooks`: one registrar per stage; each returns the registrar again for chaining. */
  readonly hooks: Hooks;
  readonly #scope: PlanScope;
  readonly #steps = new Map<StageName, StepDefinition<StageName>[]>(STAGES.map((s) => [s, []]));
  readonly #identities = new StepIdentities();
  #hookCount = new Map<StageName, number>();

  constructor(scope: PlanScope) {
    this.#scope = scope;
    this.hooks = this.#hookRegistrar();
  }

  #hookRegistrar(): Hooks {
    const registrar = {} as Record<StageName, (hook: Hook<StageName>) => Hooks>;
    for (const stage of STAGES) {
      registrar[stage] = (hook) => {
        this.addHook(stage, hook);
        return proxy;
      };
    }
    // JavaScript callers misspelling a stage get a clear error instead of "is not a function".
    const proxy = new Proxy(Object.freeze(registrar), {
      get(target, property, receiver) {
        if (
          typeof property === 'string' &&
          !(property in target) &&
          property !== 'then' &&
          property !== 'toJSON'
        ) {
          // `hooks.in_stop(…)` is `hooks.preStart(…)`: the release's name for the same cut-point.
          return target[parseStage(property, 'upgrade.hooks')];
        }
        return Reflect.get(target, property, receiver);
      },
    }) as unknown as Hooks;
    return proxy;
  }

  /** A hook is a step; a function hook's id is its stage and its name, or its place among the hooks. */
  addHook(stage: StageName, hook: Hook<StageName>): void {
    if (typeof hook !== 'function' && (typeof hook !== 'object' || hook === null)) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `upgrade.hooks.${stage}: expected a function or a step object, got ${typeof hook}`,
      );
    }
    const index = this.#hookCount.get(stage) ?? 0;
    this.#hookCount.set(stage, index + 1);
    this.add(stage, hookToDefinition(stage, hook, index));
  }

  /** Adds a step to a stage, after those already there. */
  add(stage: StageName, definition: StepDefinition<StageName>): void {
    const list = this.#steps.get(stage)!;
    // Validate now, so a bad step is reported at registration, not halfway through an upgrade.
    const planned = [...list, definition].map((d) => this.#plan(stage, d));
    checkStageSteps(stage, planned);
    // Ids are unique per (host, version) across the whole upgrade: that is the key of its state.
    this.#identities.add(planned.at(-1)!, list.length);
    list.push(definition);
  }

  /** The steps of a stage, in order, with defaults applied. */
  planned(stage: StageName): PlannedStep[] {
    return this.#steps.get(stage)!.map((d) => this.#plan(stage, d));
  }

  /** Every step of this upgrade, stage by stage, with defaults applied. */
  all(): PlannedStep[] {
    return STAGES.flatMap((stage) => this.planned(stage));
  }

  #plan(stage: StageName, definition: StepDefinition<StageName>): PlannedStep {
    return planStep(stage, definition, this.#scope);
  }
}
