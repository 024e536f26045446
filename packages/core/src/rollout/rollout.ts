import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { describeError } from '../errors/internal.js';
import { EventBus } from '../events/index.js';
import { nullSink } from '../events/internal.js';
import { SiteLock } from '../state/index.js';
import { resolveOptions } from './options.js';
import type { RolloutHost } from './order.js';
import { RolloutRun } from './run.js';
import type { HostConnection, RolloutOptions, RolloutResult } from './types.js';

/**
 * Upgrades a site's hosts in batches, as Ansible's `serial` does: hosts ordered by role, each
 * batch with bounded concurrency, every host through a health gate (N passes in a row), an
 * observation window between batches, and `maxFailPercent` per batch. A batch over its failure
 * budget halts the rollout: no later host is touched, and the result says which host is on which
 * version. Every host's attempt is a row in `upgrade_log` (host column), so a rollout run again
 * after a crash or a halt continues with the hosts not yet done.
 *
 * @example
 * const result = await rollout({
 *   id: 'rollout:app', component: 'app', site: 'site-042', from: '2.3.0', to: '2.4.0', state,
 *   hosts: [{ name: 'app-1', roles: ['replica'] }, { name: 'app-2', roles: ['primary'] }],
 *   serial: [1, '20%', '50%', '100%'], roleOrder: ['replica', 'primary'], maxFailPercent: 0,
 *   connect: (host) => SshSession.connect({ host: host.name, username: 'deploy', privateKeyPath }),
 *   upgrade: async ({ remote, host }) => { … stopService, switch release, startService … },
 *   healthGate: { check: (host) => ({ http: `http://${host.name}:8080/health` }), passes: 3 },
 *   observeMs: 10 * 60_000,
 * });
 * if (result.status !== 'succeeded') console.table(result.versions);
 */
export async function rollout<H extends RolloutHost = RolloutHost, C extends HostConnection = HostConnection>(
  options: RolloutOptions<H, C>,
): Promise<RolloutResult> {
  // Typed for the caller's hosts and connections; inside, they are just hosts and runners.
  const o = resolveOptions(options as unknown as RolloutOptions);
  const runId = o.runId ?? randomUUID();
  const events = o.events ?? nullSink;
  if (events instanceof EventBus) o.state.maskWith((value) => events.redact(value));
  const controller = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, controller.signal]) : controller.signal;
  if (!o.lock) return new RolloutRun(o, runId, events, signal).execute();

  const lock = await SiteLock.acquire(o.state, {
    component: o.component,
    site: o.site,
    runId,
    events,
    onLost: (error) => controller.abort(error),
  });
  try {
    await o.state.startRun({
      runId,
      component: o.component,
      site: o.site,
      versionFrom: o.from,
      versionTo: o.to,
      host: hostname(),
      pid: process.pid,
      startedAt: Date.now(),
    });
    const result = await new RolloutRun(o, runId, events, signal).execute();
    const status =
      result.status === 'halted'
        ? 'failed'
        : result.status === 'needs-decision'
          ? 'needs-decision'
          : result.status;
    await o.state.finishRun(runId, status, result.error?.message);
    return result;
  } catch (error) {
    await o.state.finishRun(runId, 'failed', describeError(error).message).catch(() => {});
    throw error;
  } finally {
    await lock.release().catch(() => {});
  }
}
