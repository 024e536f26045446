import { setTimeout as sleep } from 'node:timers/promises';
import type { ProbeResult } from '../service/index.js';
import type { RolloutHost } from './order.js';

/**
 * The observation window (seed 000 §2.2: watch the new version before widening): every host is
 * probed each interval until the window ends; one failed probe fails a host, which is then no longer
 * probed. Without a probe it is a plain wait (a soak time for people watching dashboards). Returns
 * how long it observed; it ends early when no healthy host is left or the signal fires.
 */
export async function observe(input: {
  readonly hosts: readonly RolloutHost[];
  readonly windowMs: number;
  readonly intervalMs: number;
  readonly probe: ((host: RolloutHost) => Promise<ProbeResult>) | undefined;
  readonly onUnhealthy: (host: RolloutHost, probe: ProbeResult) => Promise<void>;
  readonly signal: AbortSignal;
}): Promise<number> {
  const { probe, signal } = input;
  const started = performance.now();
  const deadline = started + input.windowMs;
  if (!probe) {
    await sleep(input.windowMs, undefined, { signal }).catch(() => {});
    return performance.now() - started;
  }
  let healthy = [...input.hosts];
  while (healthy.length > 0 && !signal.aborted) {
    const probes = await Promise.all(healthy.map(async (host) => ({ host, result: await probe(host) })));
    for (const { host, result } of probes) if (!result.ok) await input.onUnhealthy(host, result);
    healthy = probes.filter((p) => p.result.ok).map((p) => p.host);
    const left = deadline - performance.now();
    if (left <= 0) break;
    await sleep(Math.min(input.intervalMs, left), undefined, { signal }).catch(() => {});
  }
  return performance.now() - started;
}
