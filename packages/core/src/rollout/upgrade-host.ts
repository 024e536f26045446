// Upgrading one host: recorded as a step in state, bounded by the host timeout, then the health
// gate and the version it serves; whatever fails is the host's outcome, not a throw.
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import { withTimeout } from '../resilience/index.js';
import type { HealthResult } from '../service/index.js';
import { gate, wrongVersion } from './host-checks.js';
import { hostKey } from './host-state.js';
import type { RolloutHost } from './order.js';
import type { HostOutcome } from './report.js';
import type { RolloutContext } from './run-context.js';

export async function upgradeHost(
  ctx: RolloutContext,
  host: RolloutHost,
  batch: number,
): Promise<HostOutcome> {
  const o = ctx.o;
  const key = hostKey(ctx.identity, host.name);
  const attempt = (ctx.recorded.get(host.name)?.record?.attempt ?? 0) + 1;
  const started = performance.now();
  const logId = await o.state.beginStep({
    ...key,
    runId: ctx.runId,
    taskName: `${o.id} on ${host.name}`,
    stage: o.stage,
    versionFrom: o.from,
    versionTo: o.to,
    attempt,
    startedAt: Date.now(),
  });
  ctx.events.emit({ type: 'step.start', step: o.id, host: host.name, attempt });
  let health: HealthResult | undefined;
  try {
    await withTimeout(async (signal) => o.upgrade(await ctx.context(host, batch, attempt, signal)), {
      ms: o.hostTimeoutMs,
      step: o.id,
      host: host.name,
      kind: 'service',
      signal: ctx.signal,
      events: ctx.events,
    });
    health = await gate(ctx, host);
    if (health && !health.healthy) {
      throw new UpgradeKitError(
        ErrorCodes.UNHEALTHY,
        `${host.name} failed its health gate after the upgrade: ${health.passes} of ${o.healthGate!.passes} passes in a row within ${o.healthGate!.timeoutMs} ms (last: ${health.detail})`,
        { context: { host: host.name, probes: health.probes } },
      );
    }
    // A healthy answer may come from the old process still holding the port (a stop that
    // missed it): the version it serves tells them apart.
    const wrong = await wrongVersion(ctx, host, batch, attempt);
    if (wrong) {
      throw new UpgradeKitError(
        ErrorCodes.UNHEALTHY,
        `${host.name} failed its ${o.healthGate ? 'health gate' : 'version check'} after the upgrade: ${wrong.detail} — if the old version is still serving, the upgrade did not stop it (check the pid file or unit it stops)`,
        { context: { host: host.name, expected: o.to, seen: wrong.seen } },
      );
    }
  } catch (error) {
    const status = ctx.signal.aborted ? 'aborted' : 'failed';
    const durationMs = performance.now() - started;
    const message = describeError(error).message;
    await o.state
      .endStep(key, logId, status, {
        endedAt: Date.now(),
        durationMs,
        error: error instanceof Error ? error.message : String(error),
      })
      .catch(() => {});
    ctx.events.emit({
      type: 'step.end',
      step: o.id,
      host: host.name,
      status,
      durationMs,
      error: { message, ...(error instanceof UpgradeKitError ? { code: error.code } : {}) },
    });
    ctx.log(status === 'failed' ? 'error' : 'warn', `${host.name}: ${message}`, host.name);
    const outcome: HostOutcome = {
      status,
      attempt,
      durationMs,
      error: message,
      ...(health ? { health } : {}),
    };
    ctx.outcomes.set(host.name, outcome);
    return outcome;
  }
  const durationMs = performance.now() - started;
  await o.state.endStep(key, logId, 'succeeded', { endedAt: Date.now(), durationMs, clearProgress: true });
  ctx.events.emit({ type: 'step.end', step: o.id, host: host.name, status: 'succeeded', durationMs });
  const outcome: HostOutcome = { status: 'upgraded', attempt, durationMs, ...(health ? { health } : {}) };
  ctx.outcomes.set(host.name, outcome);
  return outcome;
}
