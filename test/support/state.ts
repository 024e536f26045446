// The state store as a crash leaves it, for tests of what a resume makes of it.
import { type ProcessIdentity, type StateOptions, StateStore } from '@upgradekit/core';

export interface CrashedStep {
  /** Default `orders`, site `s1`: the migrate tests' upgrade. */
  readonly component?: string;
  readonly site?: string;
  readonly taskId: string;
  readonly taskName?: string;
  /** What the step had saved as its progress (JSON). */
  readonly progress: unknown;
}

/**
 * Runs `use` on the state store at `state`, opened for it and closed after, even when it throws:
 * how a test reads (or plants) what a run left in the store.
 */
export async function withStore<T>(state: StateOptions, use: (store: StateStore) => Promise<T>): Promise<T> {
  const store = await StateStore.open(state);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/**
 * What a crash in the middle of a step of 1.0.0 → 1.1.0 leaves: the step running (stage preStart)
 * under the dead run `crashed`, with the progress it saved.
 */
export async function leaveCrashedStep(state: StateOptions, step: CrashedStep): Promise<void> {
  const { component = 'orders', site = 's1', taskId } = step;
  const key = { component, site, host: '', taskVersion: '1.1.0', taskId };
  await withStore(state, async (store) => {
    await store.beginStep({
      ...key,
      runId: 'crashed',
      taskName: step.taskName ?? step.taskId,
      stage: 'preStart',
      versionFrom: '1.0.0',
      versionTo: '1.1.0',
      attempt: 1,
      startedAt: Date.now(),
    });
    await store.saveProgress(key, JSON.stringify(step.progress));
  });
}

/** A boot id and a PID namespace for made-up lock holders: the same machine as {@link SELF}. */
export const BOOT = 'ad3e0252-5757-4972-9ad2-adcb86648566';
export const NS = 'pid:[4026531836]';
/** "This process" in lock and liveness tests: pid 100 on runner-a. */
export const SELF: ProcessIdentity = {
  host: 'runner-a',
  pid: 100,
  bootId: BOOT,
  pidNamespace: NS,
  startTime: 5_000,
};
