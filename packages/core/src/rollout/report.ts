import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { HealthResult } from '../service/index.js';
import type { RecordedHost } from './host-state.js';
import type { RolloutHost } from './order.js';
import type { BatchReport, HostReport } from './types.js';

/** What happened to a host in this run. */
export interface HostOutcome {
  readonly status: HostReport['status'];
  readonly attempt: number;
  readonly durationMs: number;
  readonly error?: string;
  readonly health?: HealthResult;
}

/** Done, in this run or an earlier one: its version is known from state. */
export function isDone(outcome: HostOutcome | undefined, recorded: RecordedHost | undefined): boolean {
  return outcome?.status === 'upgraded' || (!outcome && recorded?.kind === 'done');
}

/**
 * One row of the "which host is on which version" report. A host that is done is on `to` (state);
 * any other is on what `probeVersion` read, or — untouched and never recorded — still on `from`;
 * otherwise nobody knows, and the report says so rather than guess.
 */
export function describeHost(input: {
  readonly host: RolloutHost;
  readonly batch: number;
  readonly outcome: HostOutcome | undefined;
  readonly recorded: RecordedHost | undefined;
  readonly from: string;
  readonly to: string;
  readonly probed: string | undefined;
}): HostReport {
  const { host, outcome, recorded } = input;
  const common = {
    name: host.name,
    roles: host.roles ?? [],
    batch: input.batch,
    attempt: outcome?.attempt ?? recorded?.record?.attempt ?? 0,
    durationMs: outcome?.durationMs ?? 0,
    ...(outcome?.error ? { error: outcome.error } : {}),
    ...(outcome?.health ? { health: outcome.health } : {}),
  };
  if (isDone(outcome, recorded)) {
    return {
      ...common,
      status: outcome ? 'upgraded' : 'already-done',
      version: input.to,
      versionSource: 'state',
    };
  }
  const status = outcome?.status ?? (recorded?.kind === 'interrupted' ? 'in_doubt' : 'untouched');
  if (input.probed !== undefined) return { ...common, status, version: input.probed, versionSource: 'probe' };
  if (status === 'untouched' && recorded?.record === undefined) {
    return { ...common, status, version: input.from, versionSource: 'assumed' };
  }
  return { ...common, status, version: 'unknown', versionSource: 'unknown' };
}

/** The error of a halted rollout: the batch, each failed host with its reason, and what was not touched. */
export function haltError(input: {
  readonly id: string;
  readonly report: BatchReport;
  readonly batches: number;
  readonly maxFailPercent: number;
  readonly reasons: ReadonlyMap<string, string | undefined>;
  readonly untouched: readonly string[];
}): UpgradeKitError {
  const { report, untouched } = input;
  // A host's reason may carry lines (the last lines of a service's log): kept, under its host.
  const failed = report.failed.map(
    (name) => `  - ${name}: ${(input.reasons.get(name) ?? 'failed').replace(/\n/g, '\n      ')}`,
  );
  const hosts = `${report.hosts.length} host${report.hosts.length === 1 ? '' : 's'}`;
  return new UpgradeKitError(
    ErrorCodes.ROLLOUT_HALTED,
    `Rollout ${input.id} halted in batch ${report.index} of ${input.batches}: ${report.failed.length} of ${hosts} failed (maxFailPercent ${input.maxFailPercent}).\n${failed.join('\n')}\n${untouched.length > 0 ? `Not touched: ${untouched.join(', ')}.` : 'No host was left untouched.'} Fix the cause and run the rollout again (done hosts are skipped), or roll the upgraded hosts back.`,
    { context: { rollout: input.id, batch: report.index, failed: report.failed, untouched } },
  );
}
