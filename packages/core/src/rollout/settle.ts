// Hosts an earlier run left interrupted: the shared resume decision (stages' decideResume), with
// skipIf asked when it needs an answer, before any batch runs.
import { describeError } from '../errors/internal.js';
import { type CheckAnswer, decideResume } from '../stages/index.js';
import { gate, wrongVersion } from './host-checks.js';
import { setHostStatus } from './host-state.js';
import type { RolloutHost } from './order.js';
import type { RolloutContext } from './run-context.js';

/** Settles every interrupted host; resolves with the ones in doubt (an operator must decide). */
export async function settleInterrupted(
  ctx: RolloutContext,
  ordered: readonly RolloutHost[],
  batchOf: Map<string, number>,
): Promise<string[]> {
  const o = ctx.o;
  const inDoubt: string[] = [];
  for (const host of ordered) {
    const recorded = ctx.recorded.get(host.name)!;
    if (recorded.kind !== 'interrupted') continue;
    let decision = recorded.decision;
    if (decision.action === 'check') {
      const answer = await check(ctx, host, batchOf.get(host.name)!, recorded.record.attempt);
      decision = decideResume({ ...recorded.facts, answer });
    }
    if (decision.action === 'skip') {
      // On the new version already, and it must be healthy — and serve that version — to count as done.
      const health = await gate(ctx, host);
      const wrong =
        !health || health.healthy
          ? await wrongVersion(ctx, host, batchOf.get(host.name)!, recorded.record.attempt)
          : undefined;
      if (wrong) {
        ctx.log(
          'warn',
          `${host.name}: ${decision.reason}, but ${wrong.detail}; upgrading it again`,
          host.name,
        );
        ctx.recorded.set(host.name, { kind: 'pending', record: recorded.record });
        continue;
      }
      if (!health || health.healthy) {
        const reason = `${decision.reason}${health ? ' and healthy' : ''}`;
        await setHostStatus(o.state, ctx.identity, host.name, 'succeeded', ctx.runId, reason);
        ctx.recorded.set(host.name, { kind: 'done', record: recorded.record });
        ctx.log('warn', `${host.name}: ${reason}; it is on ${o.to} already`, host.name);
        continue;
      }
      ctx.log('warn', `${host.name}: ${decision.reason}, but not healthy; upgrading it again`, host.name);
      ctx.recorded.set(host.name, { kind: 'pending', record: recorded.record });
    } else if (decision.action === 'blocked') {
      if (decision.write === 'decided') {
        await setHostStatus(o.state, ctx.identity, host.name, 'in_doubt', ctx.runId, decision.reason!);
      }
      inDoubt.push(host.name);
    } else {
      ctx.log('warn', `${host.name}: ${decision.reason}`, host.name);
      ctx.recorded.set(host.name, { kind: 'pending', record: recorded.record });
    }
  }
  return inDoubt;
}

/** Asks skipIf about a host; a check that cannot answer (host unreachable, a bug) is no answer. */
async function check(
  ctx: RolloutContext,
  host: RolloutHost,
  batch: number,
  attempt: number,
): Promise<CheckAnswer> {
  try {
    const probe = await ctx.context(host, batch, attempt, ctx.signal);
    return (await ctx.o.skipIf!(probe)) ? 'applied' : 'not-applied';
  } catch (error) {
    ctx.log('warn', `skipIf could not check ${host.name}: ${describeError(error).message}`, host.name);
    return 'unknown';
  }
}
