// On a terminal, `run` draws the upgrade as a live task list (listr2): a task per stage, a subtask
// per step, ticked, skipped or failed as the engine's events arrive. The engine drives; listr2 only
// renders — so each task waits for its step's events instead of doing the work itself.
import type { EventBus, StageName, Upgrade, UpgradeEvent } from '@upgradekit/core';
import { Listr, type ListrTaskWrapper } from 'listr2';

type Settle = { status: 'succeeded' | 'skipped' | 'failed'; detail?: string };

class Deferred {
  readonly promise: Promise<Settle>;
  resolve!: (value: Settle) => void;
  constructor() {
    this.promise = new Promise((resolve) => {
      this.resolve = resolve;
    });
  }
}

const key = (stage: string, step: string, host?: string) => `${stage}\u0000${step}\u0000${host ?? ''}`;

/**
 * Renders `run()` (the engine doing the work) as a task list of the given stages' planned steps.
 * Steps the run never reached are shown as skipped when it ends.
 */
export async function withTaskList<R>(
  upgrade: Upgrade,
  events: EventBus,
  stages: readonly StageName[],
  run: () => Promise<R>,
): Promise<R> {
  const waits = new Map<string, Deferred>();
  const stageWaits = new Map<string, Deferred>();
  const outputs = new Map<string, (line: string) => void>();
  const current = { stage: '' as string, step: '' as string };

  const planned = stages
    .map((stage) => ({ stage, steps: upgrade.planned(stage) }))
    .filter((s) => s.steps.length > 0);
  for (const { stage, steps } of planned) {
    stageWaits.set(stage, new Deferred());
    for (const step of steps) waits.set(key(stage, step.id, step.host), new Deferred());
  }

  // A failed attempt may be retried: its ✖ waits until the step starts again (then it was not the
  // end), or until another step or the stage moves on (then it was). Otherwise a step that succeeds
  // on its second attempt would stay drawn as failed, with the first attempt's error.
  const failing = new Map<string, Settle>();
  const settleFailures = (except?: string) => {
    for (const [k, outcome] of failing) {
      if (k === except) continue;
      waits.get(k)?.resolve(outcome);
      failing.delete(k);
    }
  };
  const off = events.on('*', (event: UpgradeEvent) => {
    const stage = event.stage ?? current.stage;
    if (event.type === 'stage.start') current.stage = event.stage;
    if (event.type === 'step.start') {
      current.step = event.step;
      const k = key(stage, event.step, event.host);
      failing.delete(k); // started again: the failure before was an attempt, not the outcome
      settleFailures(k);
    }
    if (event.type === 'stage.end') settleFailures();
    if (event.type === 'step.end') {
      const k = key(stage, event.step, event.host);
      if (event.status !== 'succeeded' && event.status !== 'skipped') {
        failing.set(k, {
          status: 'failed',
          ...(event.error ? { detail: event.error.message.split('\n')[0] ?? '' } : {}),
        });
      } else {
        failing.delete(k);
        waits.get(k)?.resolve({ status: event.status });
      }
    } else if (event.type === 'stage.start') {
      stageWaits.get(event.stage)?.resolve({ status: 'succeeded' });
    } else if (event.type === 'retry' || event.type === 'progress' || event.type === 'timeout.warning') {
      outputs.get(key(stage, event.step ?? current.step, event.host))?.(describe(event));
    } else if (event.type === 'log' && event.level === 'error' && !event.step) {
      // A run-level error (a second Ctrl-C: what is left in doubt) may be the last thing this
      // process does: written now, not at the list's next redraw.
      process.stderr.write(`\n${event.message}\n`);
    } else if (event.type === 'log' && event.level !== 'debug') {
      outputs.get(key(stage, event.step ?? current.step, event.host))?.(event.message);
    }
  });

  // listr2 replaces a task's title with the skip or error message: keep the step's name in it.
  const settle = async (
    task: ListrTaskWrapper<unknown, never, never>,
    title: string,
    wait: Promise<Settle>,
  ) => {
    const outcome = await wait;
    if (outcome.status === 'skipped') task.skip(`${title} (${outcome.detail ?? 'skipped'})`);
    if (outcome.status === 'failed') throw new Error(`${title}: ${outcome.detail ?? 'failed'}`);
  };

  const list = new Listr(
    planned.map(({ stage, steps }) => ({
      title: `stage ${stage}`,
      // A stage's steps appear when it starts; a stage the run never reached is shown skipped.
      task: async (_ctx: unknown, task: ListrTaskWrapper<unknown, never, never>) => {
        const started = await (stageWaits.get(stage) as Deferred).promise;
        if (started.status === 'skipped') {
          task.skip(`stage ${stage} (not reached)`);
          return undefined;
        }
        return task.newListr(
          steps.map((step) => ({
            title: `${step.name}${step.host ? ` on ${step.host}` : ''}`,
            task: async (_c: unknown, sub: ListrTaskWrapper<unknown, never, never>) => {
              const k = key(stage, step.id, step.host);
              outputs.set(k, (line) => {
                sub.output = line;
              });
              try {
                await settle(
                  sub,
                  `${step.name}${step.host ? ` on ${step.host}` : ''}`,
                  (waits.get(k) as Deferred).promise,
                );
              } finally {
                outputs.delete(k);
              }
            },
          })),
          { concurrent: false, exitOnError: false },
        );
      },
    })),
    { concurrent: false, exitOnError: false, rendererOptions: { collapseSubtasks: false } } as never,
  );

  const drawn = list.run().catch(() => undefined);
  try {
    return await run();
  } finally {
    off();
    settleFailures();
    // What the run never reached (it stopped at a core failure, or a decision) is shown as such.
    for (const wait of waits.values()) wait.resolve({ status: 'skipped', detail: 'not reached' });
    for (const wait of stageWaits.values()) wait.resolve({ status: 'skipped' });
    await drawn;
  }
}

function describe(event: UpgradeEvent): string {
  if (event.type === 'retry') return `attempt ${event.attempt}/${event.attempts} failed; retrying`;
  if (event.type === 'progress') {
    const percent = event.percent !== undefined ? ` ${Math.floor(event.percent)}%` : '';
    return `${event.label}${percent}`;
  }
  if (event.type === 'timeout.warning') return `${Math.round(event.fraction * 100)}% of the timeout used`;
  return '';
}
