// What a host is after its upgrade: healthy by the gate, and serving the version it should.
import { describeError } from '../errors/internal.js';
import { type HealthCheck, type HealthResult, waitHealthy } from '../service/index.js';
import { compareVersions } from '../version/index.js';
import type { RolloutHost } from './order.js';
import type { RolloutContext } from './run-context.js';

/** The health gate for one host: N passes in a row within the timeout. Undefined without a gate. */
export async function gate(ctx: RolloutContext, host: RolloutHost): Promise<HealthResult | undefined> {
  const gate = ctx.o.healthGate;
  if (!gate) return undefined;
  return waitHealthy({
    check: checkFor(ctx, host),
    ...(ctx.o.connect ? { runner: await ctx.connection(host) } : {}),
    passes: gate.passes,
    intervalMs: gate.intervalMs,
    timeoutMs: gate.timeoutMs,
    signal: ctx.signal,
  });
}

export function checkFor(ctx: RolloutContext, host: RolloutHost): HealthCheck {
  const check = ctx.o.healthGate!.check;
  return typeof check === 'function' ? check(host) : check;
}

/**
 * With `probeVersion` (and `verifyVersion` not false): what is wrong with the version the host
 * serves, or undefined when it is `to`. A probe that cannot answer is wrong too: the gate
 * cannot tell the new version from the old.
 */
export async function wrongVersion(
  ctx: RolloutContext,
  host: RolloutHost,
  batch: number,
  attempt: number,
): Promise<{ detail: string; seen?: string } | undefined> {
  const o = ctx.o;
  if (!o.probeVersion || !o.verifyVersion) return undefined;
  let seen: string | undefined;
  try {
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000)]);
    seen =
      (await o.probeVersion({ ...(await ctx.context(host, batch, attempt, signal)), signal })) ?? undefined;
  } catch (error) {
    return { detail: `its version cannot be read (probeVersion: ${describeError(error).message})` };
  }
  if (seen === undefined) return { detail: 'probeVersion returned no version' };
  return sameVersion(seen, o.to)
    ? undefined
    : { detail: `it serves ${seen}, not ${o.to} (probeVersion)`, seen };
}

/** The version a host serves, for the report; undefined without `probeVersion` or an answer. */
export async function probeVersion(
  ctx: RolloutContext,
  host: RolloutHost,
  batch: number,
  attempt: number,
): Promise<string | undefined> {
  if (!ctx.o.probeVersion) return undefined;
  try {
    // The run's own signal may have fired (abort): the report still deserves an answer.
    const signal = AbortSignal.timeout(10_000);
    const probe = { ...(await ctx.context(host, batch, attempt, signal)), signal };
    return (await ctx.o.probeVersion(probe)) ?? undefined;
  } catch (error) {
    ctx.log('warn', `cannot read the version of ${host.name}: ${describeError(error).message}`, host.name);
    return undefined;
  }
}

/** `2.4.0`, `V2.4.0` and `v2.4.0` are one version; what does not parse must match as written. */
function sameVersion(seen: string, expected: string): boolean {
  const text = seen.trim();
  try {
    return compareVersions(text, expected) === 0;
  } catch {
    return text === expected;
  }
}
