import { join } from 'node:path';
import type { z } from 'zod';
import type { EventBus } from '../events/index.js';
import type { HostInfo, SiteInfo } from '../model/index.js';
import {
  type ProcessIdentity,
  type ProcProbe,
  type StateOptions,
  StateStore,
  type StepRecord,
} from '../state/index.js';
import { Executor } from './executor.js';
import type { optionsSchema } from './options.js';
import type { StepRegistry } from './registry.js';

/** An upgrade's options as `createUpgrade` validated them, defaults applied. */
export type UpgradeSettings = z.output<typeof optionsSchema>;

/**
 * What the parts of one upgrade share: what it upgrades, its options, its steps, and its state
 * store. The `Upgrade` facade owns one and hands it to the parts — running (run.ts), reading
 * (inspect.ts), resolving (resolve.ts) — which are free functions over it, so none of them reaches
 * into another's private state and each can be read alone.
 */
export class UpgradeCore {
  readonly component: string;
  readonly from: string;
  readonly to: string;
  readonly site: SiteInfo;
  readonly events: EventBus;
  readonly options: UpgradeSettings;
  readonly steps: StepRegistry;
  #store: Promise<StateStore> | undefined;
  #ownsStore = true;

  constructor(init: {
    component: string;
    from: string;
    to: string;
    site: SiteInfo;
    events: EventBus;
    options: UpgradeSettings;
    steps: StepRegistry;
  }) {
    this.component = init.component;
    this.from = init.from;
    this.to = init.to;
    this.site = init.site;
    this.events = init.events;
    this.options = init.options;
    this.steps = init.steps;
  }

  /** The state store, opened on first use: the one given in `state`, or a file this upgrade owns. */
  async state(): Promise<StateStore> {
    if (!this.#store) {
      const state = this.options.state as StateStore | StateOptions | undefined;
      if (state instanceof StateStore) {
        this.#ownsStore = false;
        this.#store = Promise.resolve(state);
      } else {
        this.#store = StateStore.open(
          state ?? { filename: join(process.cwd(), '.upgradekit', 'state.sqlite') },
        );
      }
      // What a step's failure quotes (a driver's error, a program's stderr) is stored masked.
      this.#store = this.#store.then((store) => {
        store.maskWith((value) => this.events.redact(value));
        return store;
      });
    }
    return this.#store;
  }

  /** Closes the store if this upgrade opened it; one given in `state` is its owner's to close. */
  async close(): Promise<void> {
    if (this.#store && this.#ownsStore) await (await this.#store).close();
    this.#store = undefined;
  }

  /** Tests may stand in for this process's identity and for /proc (`lock.identity`, `lock.probe`). */
  liveness(): { identity?: ProcessIdentity; probe?: ProcProbe } {
    const { identity, probe } = this.options.lock;
    return { ...(identity ? { identity } : {}), ...(probe ? { probe } : {}) };
  }

  /**
   * An executor of this upgrade's steps. A run gives it its id, its events and its signal; a dry
   * run (which only reads) events no one hears and a signal that never aborts.
   */
  executor(run: {
    store: StateStore;
    runId: string;
    events: EventBus;
    signal: AbortSignal;
    states: Map<string, StepRecord>;
  }): Executor {
    return new Executor({
      store: run.store,
      runId: run.runId,
      component: this.component,
      site: this.site,
      from: this.from,
      to: this.to,
      datasources: this.options.datasources,
      hosts: this.options.hosts as HostInfo[],
      events: run.events,
      signal: run.signal,
      states: run.states,
    });
  }
}
