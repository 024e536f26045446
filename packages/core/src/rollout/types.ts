import type { UpgradeKitError } from '../errors/index.js';
import type { EventSink } from '../events/index.js';
import type { CommandRunner, HealthCheck, HealthResult } from '../service/index.js';
import type { StateStore } from '../state/index.js';
import type { RolloutHost } from './order.js';
import type { Serial } from './serial.js';

/** What the per-host hooks receive: your host object and the connection `connect` opened, as typed. */
export interface HostContext<H extends RolloutHost = RolloutHost, C extends HostConnection = HostConnection> {
  readonly host: H;
  /** 1-based batch number. */
  readonly batch: number;
  /** This host's attempt number across runs (1 for the first). */
  readonly attempt: number;
  readonly runId: string;
  readonly from: string;
  readonly to: string;
  /** The host's connection, when `connect` is given. */
  readonly remote: C | undefined;
  /** Fires on abort and on the per-host timeout. */
  readonly signal: AbortSignal;
  readonly events: EventSink;
}

export interface HealthGate<H extends RolloutHost = RolloutHost> {
  /** The probe for a host: an HTTP URL, a command run on the host (needs `connect`), or a hook. */
  readonly check: HealthCheck | ((host: H) => HealthCheck);
  /** Consecutive passes a freshly upgraded host needs. Default 3. */
  readonly passes?: number;
  /** Between probes, also during the observation window. Default 1000 ms. */
  readonly intervalMs?: number;
  /** A host not healthy within this long has failed. Default 60 s. */
  readonly timeoutMs?: number;
}

/** A `CommandRunner` the rollout closes when it is done with the host. */
export type HostConnection = CommandRunner & { close?(): Promise<void> };

export interface RolloutOptions<
  H extends RolloutHost = RolloutHost,
  C extends HostConnection = HostConnection,
> {
  /** The rollout's identity in state (with component, site, host and target version). */
  readonly id: string;
  readonly component: string;
  readonly site: string;
  readonly from: string;
  readonly to: string;
  /** The state store; per-host progress lives in `upgrade_log` and the step table, host column. */
  readonly state: StateStore;
  readonly hosts: readonly H[];
  /** Batch sizes, as Ansible's `serial`. Default 1 (one host at a time). */
  readonly serial?: Serial;
  /** Roles in upgrade order, e.g. `['replica', '*', 'primary']`. Default: the hosts' order. */
  readonly roleOrder?: readonly string[];
  /** Hosts upgraded at once inside a batch. Default: the whole batch. */
  readonly concurrency?: number;
  /** Failed hosts a batch tolerates, as a percentage of the batch (as Ansible). Default 0. */
  readonly maxFailPercent?: number;
  /** The work on one host: stop, install, start. Throw to fail the host. */
  readonly upgrade: (ctx: HostContext<H, C>) => unknown;
  /** Must pass after each host's upgrade, and throughout the observation window. */
  readonly healthGate?: HealthGate<H>;
  /** After each batch but the last: keep probing its hosts this long before the next batch. Default 0. */
  readonly observeMs?: number;
  /** Opens a connection to a host (e.g. `SshSession.connect`); closed after its batch. */
  readonly connect?: (host: H, signal: AbortSignal) => Promise<C>;
  /**
   * Is this host already on the target version? Decides hosts interrupted by a crash: yes → done
   * (after the health gate), no → upgraded again.
   */
  readonly skipIf?: (ctx: HostContext<H, C>) => boolean | Promise<boolean>;
  /** Re-run a host's upgrade after a crash without asking. Default false. */
  readonly idempotent?: boolean;
  /**
   * Reads the version a host really serves. An upgraded host must serve `to`: checked after its
   * health gate, so an old process still answering on the port fails the host, naming the version
   * seen. Also fills the report for hosts that did not finish.
   */
  readonly probeVersion?: (ctx: HostContext<H, C>) => Promise<string | undefined>;
  /**
   * Require `probeVersion` to read `to` after each host's upgrade. Default true; false only for a
   * probe that reads something else (a build number) and serves the report alone.
   */
  readonly verifyVersion?: boolean;
  /** Per host. Default 1 hour. */
  readonly hostTimeoutMs?: number;
  /** Take the site lock and record a run. Default true; false inside an engine step (it holds the lock). */
  readonly lock?: boolean;
  readonly runId?: string;
  /** The `stage` column of its rows. Default `rollout`. */
  readonly stage?: string;
  readonly events?: EventSink;
  readonly signal?: AbortSignal;
}

/**
 * `upgraded` (in this run), `already-done` (in an earlier run), `failed`, `untouched` (never
 * started), `in_doubt` (interrupted, needs an operator decision), `aborted`.
 */
export type HostStatus = 'upgraded' | 'already-done' | 'failed' | 'untouched' | 'in_doubt' | 'aborted';

export interface HostReport {
  readonly name: string;
  readonly roles: readonly string[];
  readonly batch: number;
  readonly status: HostStatus;
  /** The version the host is on, or `unknown`. */
  readonly version: string;
  /** `state`: recorded success; `probe`: read from the host; `assumed`: untouched, so still `from`. */
  readonly versionSource: 'state' | 'probe' | 'assumed' | 'unknown';
  readonly attempt: number;
  readonly durationMs: number;
  readonly error?: string;
  readonly health?: HealthResult;
}

export type BatchStatus = 'succeeded' | 'tolerated' | 'failed' | 'done-before' | 'not-started' | 'aborted';

export interface BatchReport {
  /** 1-based. */
  readonly index: number;
  readonly hosts: readonly string[];
  readonly status: BatchStatus;
  readonly failed: readonly string[];
  readonly startedAt?: number;
  readonly endedAt?: number;
  /** How long the batch was observed after its hosts finished. */
  readonly observedMs?: number;
}

export type RolloutStatus = 'succeeded' | 'partial' | 'halted' | 'aborted' | 'needs-decision';

export interface RolloutResult {
  readonly id: string;
  readonly runId: string;
  /** `partial`: some hosts failed within `maxFailPercent`; `halted`: a batch failed, the rest untouched. */
  readonly status: RolloutStatus;
  readonly from: string;
  readonly to: string;
  readonly batches: readonly BatchReport[];
  /** Every host, in rollout order. */
  readonly hosts: readonly HostReport[];
  /** Host name → version, for the report "which host is on which version". */
  readonly versions: Readonly<Record<string, string>>;
  readonly durationMs: number;
  readonly error?: UpgradeKitError;
}
