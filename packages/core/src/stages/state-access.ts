import type { Knex } from 'knex';
import type { StateStore } from '../state/index.js';

/**
 * What a step of core may do with the state itself, beyond the public `StepContext`: reach the
 * state store, and record its attempt's success inside a transaction on the state database, so
 * the work and the success row commit together (exactly once on resume). `migrate/` uses it for a
 * task that runs on the state database, `rollout/` for its per-host rows. A team script's step
 * never needs it, so it is not on the context a script sees.
 */
export interface StateAccess {
  readonly store: StateStore;
  /** The state database: compare with a task's target to know whether `succeedWithin` applies. */
  readonly knex: Knex;
  succeedWithin(trx: Knex.Transaction): Promise<void>;
}

// A symbol no one outside core can name: the context carries the capability without showing it in
// its type. A symbol-keyed property survives `{ ...ctx }`, which a step wrapping another does.
const ACCESS = Symbol('upgradekit.stateAccess');

/** The executor gives a step's context its state capability. */
export function grantStateAccess<C extends object>(ctx: C, access: StateAccess): C {
  Object.defineProperty(ctx, ACCESS, { value: access, enumerable: true });
  return ctx;
}

/** The state capability of a context the executor handed out; `undefined` for any other. */
export function stateAccess(ctx: object): StateAccess | undefined {
  return (ctx as { [ACCESS]?: StateAccess })[ACCESS];
}
