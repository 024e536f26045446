import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { StageName, StepContext, StepDefinition } from '../model/index.js';
import { anObject, checkArguments } from '../options/index.js';
import { stateAccess } from '../stages/internal.js';
import type { RolloutHost } from './order.js';
import { rollout } from './rollout.js';
import type { HostConnection, RolloutOptions, RolloutResult } from './types.js';

export type RolloutStepOptions<C extends HostConnection = HostConnection> = Omit<
  RolloutOptions<RolloutHost, C>,
  'component' | 'site' | 'from' | 'to' | 'state' | 'runId' | 'lock' | 'stage' | 'events' | 'signal' | 'hosts'
> & {
  /** Default: the upgrade's `hosts`. */
  readonly hosts?: RolloutOptions['hosts'];
  /** Called with the result, whatever it is (e.g. to publish the version table). */
  readonly onResult?: (result: RolloutResult) => void | Promise<void>;
};

/**
 * A rollout as a step of an upgrade (`upgrade.step('postStart', rolloutStep({ … }))`): it runs in
 * the engine's run, under its site lock, with per-host rows in the same state. It is idempotent —
 * after a crash it continues with the hosts not yet done — and fails the step unless every host
 * succeeded (or the failures stayed within `maxFailPercent`).
 *
 * @example
 * upgrade.step('preStart', rolloutStep({
 *   id: 'rollout:app', serial: [1, '50%', '100%'], connect, upgrade: upgradeOneHost,
 *   healthGate: { check: (h) => ({ http: `http://${h.name}:8080/health` }), passes: 3 },
 * }));
 */
export function rolloutStep<S extends StageName, C extends HostConnection = HostConnection>(
  options: RolloutStepOptions<C>,
): StepDefinition<S> {
  checkArguments('rolloutStep', { options: anObject('{ id, hosts, upgrade, … }') }, { options });
  return {
    id: options.id,
    kind: 'service',
    idempotent: true,
    summary: `rollout ${options.id}, serial ${JSON.stringify(options.serial ?? 1)}`,
    run: async (ctx: StepContext<S>) => {
      const access = stateAccess(ctx);
      if (!access) {
        throw new UpgradeKitError(
          ErrorCodes.BAD_INPUT,
          `rolloutStep ${options.id} runs only as a step of an upgrade (upgrade.step(…)): it keeps its hosts' rows in that run's state; call rollout() to roll out on its own`,
          { context: { step: options.id } },
        );
      }
      const state = access.store;
      const { onResult, ...rest } = options;
      const result = await rollout({
        ...rest,
        hosts: options.hosts ?? ctx.hosts,
        component: ctx.component,
        site: ctx.site.id,
        from: ctx.from,
        to: ctx.to,
        state,
        runId: ctx.runId,
        stage: ctx.stage,
        lock: false,
        events: ctx.events,
        signal: ctx.signal,
      });
      await onResult?.(result);
      if (result.error && result.status !== 'partial') throw result.error;
      return result;
    },
  };
}
