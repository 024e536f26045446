import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import type { EventSink } from '../events/index.js';
import { runBatch } from './batch.js';
import { probeVersion } from './host-checks.js';
import { loadHosts } from './host-state.js';
import type { ResolvedOptions } from './options.js';
import { orderHosts, type RolloutHost } from './order.js';
import { describeHost, haltError, isDone } from './report.js';
import { RolloutContext } from './run-context.js';
import { planBatches } from './serial.js';
import { settleInterrupted } from './settle.js';
import type { BatchReport, BatchStatus, RolloutResult, RolloutStatus } from './types.js';

/** One execution of a rollout: settle crashed hosts, then the batches, then the report. */
export class RolloutRun {
  readonly #ctx: RolloutContext;

  constructor(o: ResolvedOptions, runId: string, events: EventSink, signal: AbortSignal) {
    this.#ctx = new RolloutContext(o, runId, events, signal);
  }

  async execute(): Promise<RolloutResult> {
    const ctx = this.#ctx;
    const o = ctx.o;
    const ordered = orderHosts(o.hosts, o.roleOrder);
    const batches = planBatches(ordered, o.serial);
    const batchOf = new Map(batches.flatMap((batch, i) => batch.map((h) => [h.name, i + 1] as const)));
    ctx.recorded = await loadHosts(
      o.state,
      ctx.identity,
      ordered.map((h) => h.name),
      ctx.runId,
      { idempotent: o.idempotent, skipIf: Boolean(o.skipIf) },
    );
    const reports: BatchReport[] = [];
    try {
      const inDoubt = await settleInterrupted(ctx, ordered, batchOf);
      if (inDoubt.length > 0) {
        const error = new UpgradeKitError(
          ErrorCodes.IN_DOUBT,
          `Rollout ${o.id} was interrupted while upgrading ${inDoubt.join(', ')}; ${inDoubt.length === 1 ? 'that host' : 'those hosts'} may or may not be on ${o.to}. The upgrade is not idempotent and has no skipIf check, so it is not re-run blindly. Inspect, then resolveRolloutHost(state, identity, host, "applied" | "retry"), and run the rollout again. No host was touched in this run.`,
          { context: { rollout: o.id, hosts: inDoubt } },
        );
        return await this.#result(ordered, batches, batchOf, [], 'needs-decision', error);
      }

      let status: RolloutStatus = 'succeeded';
      let error: UpgradeKitError | undefined;
      for (const [i, batch] of batches.entries()) {
        const index = i + 1;
        const todo = batch.filter((h) => ctx.recorded.get(h.name)?.kind !== 'done');
        if (todo.length === 0) {
          reports.push(batchNotRun(index, batch, 'done-before'));
          continue;
        }
        if (status !== 'succeeded' && status !== 'partial') {
          reports.push(batchNotRun(index, batch, 'not-started'));
          continue;
        }
        if (ctx.signal.aborted) {
          status = 'aborted';
          reports.push(batchNotRun(index, batch, 'aborted'));
          continue;
        }
        const report = await runBatch(ctx, index, batch, todo, batches.length);
        reports.push(report);
        await ctx.closeConnections();
        if (report.status === 'aborted') status = 'aborted';
        else if (report.status === 'failed') {
          status = 'halted';
          error = this.#haltError(report, batches, batchOf);
        } else if (report.status === 'tolerated') status = 'partial';
      }
      if (status === 'aborted') {
        error = new UpgradeKitError(
          ErrorCodes.ABORTED,
          `Rollout ${o.id} was stopped: ${describeError(ctx.signal.reason).message}`,
          { cause: ctx.signal.reason, context: { rollout: o.id } },
        );
      }
      return await this.#result(ordered, batches, batchOf, reports, status, error);
    } finally {
      await ctx.closeConnections();
    }
  }

  #haltError(
    report: BatchReport,
    batches: readonly RolloutHost[][],
    batchOf: Map<string, number>,
  ): UpgradeKitError {
    const ctx = this.#ctx;
    const untouched = batches
      .flat()
      .filter((h) => (batchOf.get(h.name) ?? 0) >= report.index)
      .filter((h) => !ctx.outcomes.has(h.name) && ctx.recorded.get(h.name)?.kind !== 'done')
      .map((h) => h.name);
    return haltError({
      id: ctx.o.id,
      report,
      batches: batches.length,
      maxFailPercent: ctx.o.maxFailPercent,
      reasons: new Map([...ctx.outcomes].map(([name, outcome]) => [name, outcome.error])),
      untouched,
    });
  }

  async #result(
    ordered: readonly RolloutHost[],
    batches: readonly RolloutHost[][],
    batchOf: Map<string, number>,
    reports: BatchReport[],
    status: RolloutStatus,
    error: UpgradeKitError | undefined,
  ): Promise<RolloutResult> {
    const ctx = this.#ctx;
    const o = ctx.o;
    const allReports =
      reports.length > 0 ? reports : batches.map((b, i) => batchNotRun(i + 1, b, 'not-started'));
    // Probing hosts that are not done can take a round trip each: do them together.
    const hosts = await Promise.all(
      ordered.map(async (host) => {
        const outcome = ctx.outcomes.get(host.name);
        const recorded = ctx.recorded.get(host.name);
        const batch = batchOf.get(host.name)!;
        const probed = isDone(outcome, recorded)
          ? undefined
          : await probeVersion(ctx, host, batch, outcome?.attempt ?? recorded?.record?.attempt ?? 0);
        return describeHost({ host, batch, outcome, recorded, from: o.from, to: o.to, probed });
      }),
    );
    return {
      id: o.id,
      runId: ctx.runId,
      status,
      from: o.from,
      to: o.to,
      batches: allReports,
      hosts,
      versions: Object.fromEntries(hosts.map((h) => [h.name, h.version])),
      durationMs: performance.now() - ctx.started,
      ...(error ? { error } : {}),
    };
  }
}

/** The report of a batch this run did not run: done before, not started, or stopped before it. */
function batchNotRun(index: number, batch: readonly RolloutHost[], status: BatchStatus): BatchReport {
  return { index, hosts: batch.map((h) => h.name), status, failed: [] };
}
