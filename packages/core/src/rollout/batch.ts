// One batch of a rollout: its hosts upgraded side by side within the failure budget, then watched
// for the observation window before the next batch may start.
import { probeHealth } from '../service/index.js';
import { checkFor } from './host-checks.js';
import { setHostStatus } from './host-state.js';
import { observe } from './observe.js';
import type { RolloutHost } from './order.js';
import { pool } from './pool.js';
import type { RolloutContext } from './run-context.js';
import type { BatchReport } from './types.js';
import { upgradeHost } from './upgrade-host.js';

export async function runBatch(
  ctx: RolloutContext,
  index: number,
  batch: readonly RolloutHost[],
  todo: readonly RolloutHost[],
  total: number,
): Promise<BatchReport> {
  const o = ctx.o;
  const startedAt = Date.now();
  const names = batch.map((h) => h.name);
  // Ansible's max_fail_percentage: the batch fails when more than this share of it failed.
  const budget = Math.floor((batch.length * o.maxFailPercent) / 100);
  let failures = 0;
  ctx.log('info', `batch ${index} of ${total}: ${todo.map((h) => h.name).join(', ')}`, undefined, {
    batch: index,
    hosts: names,
  });
  await pool(todo, Math.min(o.concurrency ?? todo.length, todo.length), async (host) => {
    // Over budget or stopped: the hosts not started yet stay untouched.
    if (failures > budget || ctx.signal.aborted) return;
    const outcome = await upgradeHost(ctx, host, index);
    if (outcome.status === 'failed') failures++;
  });
  const failedNames = () => names.filter((n) => ctx.outcomes.get(n)?.status === 'failed');
  if (ctx.signal.aborted)
    return {
      index,
      hosts: names,
      status: 'aborted',
      failed: failedNames(),
      startedAt,
      endedAt: Date.now(),
    };
  let observedMs: number | undefined;
  const later = index < total;
  if (failures <= budget && later && o.observeMs > 0) {
    observedMs = await observeBatch(
      ctx,
      index,
      todo.filter((h) => ctx.outcomes.get(h.name)?.status === 'upgraded'),
    );
    failures = failedNames().length;
  }
  const status = ctx.signal.aborted
    ? 'aborted'
    : failures > budget
      ? 'failed'
      : failures > 0
        ? 'tolerated'
        : 'succeeded';
  return {
    index,
    hosts: names,
    status,
    failed: failedNames(),
    startedAt,
    endedAt: Date.now(),
    ...(observedMs !== undefined ? { observedMs } : {}),
  };
}

/** Observes a batch before the next one; a host that turns unhealthy is recorded as failed. */
function observeBatch(ctx: RolloutContext, index: number, hosts: readonly RolloutHost[]): Promise<number> {
  const o = ctx.o;
  ctx.log('info', `observing batch ${index} for ${o.observeMs} ms`, undefined, { batch: index });
  return observe({
    hosts,
    windowMs: o.observeMs,
    intervalMs: o.healthGate?.intervalMs ?? 0,
    probe: o.healthGate
      ? async (host) =>
          probeHealth(checkFor(ctx, host), {
            ...(o.connect ? { runner: await ctx.connection(host) } : {}),
            signal: ctx.signal,
          })
      : undefined,
    onUnhealthy: async (host, probe) => {
      const reason = `unhealthy during the observation window after batch ${index}: ${probe.detail}`;
      await setHostStatus(o.state, ctx.identity, host.name, 'failed', ctx.runId, reason);
      ctx.outcomes.set(host.name, { ...ctx.outcomes.get(host.name)!, status: 'failed', error: reason });
      ctx.log('error', `${host.name}: ${reason}`, host.name);
    },
    signal: ctx.signal,
  });
}
