import { describeError, ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { EventSink } from '../events/index.js';
import { withTimeout } from '../resilience/index.js';
import { type HealthCheck, type HealthResult, probeHealth, waitHealthy } from '../service/index.js';
import { type CheckAnswer, decideResume } from '../stages/index.js';
import { compareVersions } from '../version/index.js';
import { hostKey, loadHosts, type RecordedHost, type RolloutIdentity, setHostStatus } from './host-state.js';
import { observe } from './observe.js';
import type { ResolvedOptions } from './options.js';
import { orderHosts, type RolloutHost } from './order.js';
import { pool } from './pool.js';
import { describeHost, type HostOutcome, haltError, isDone } from './report.js';
import { planBatches } from './serial.js';
import type { BatchReport, HostConnection, HostContext, RolloutResult, RolloutStatus } from './types.js';

/** One execution of a rollout: settle crashed hosts, then the batches, then the report. */
export class RolloutRun {
  readonly #o: ResolvedOptions;
  readonly #runId: string;
  readonly #events: EventSink;
  readonly #signal: AbortSignal;
  readonly #identity: RolloutIdentity;
  readonly #started = performance.now();
  readonly #outcomes = new Map<string, HostOutcome>();
  readonly #connections = new Map<string, Promise<HostConnection>>();
  #recorded = new Map<string, RecordedHost>();

  constructor(o: ResolvedOptions, runId: string, events: EventSink, signal: AbortSignal) {
    this.#o = o;
    this.#runId = runId;
    this.#events = events;
    this.#signal = signal;
    this.#identity = {
      id: o.id,
      component: o.component,
      site: o.site,
      from: o.from,
      to: o.to,
      stage: o.stage,
    };
  }

  #log(
    level: 'info' | 'warn' | 'error',
    message: string,
    host?: string,
    fields?: Record<string, unknown>,
  ): void {
    this.#events.emit({
      type: 'log',
      level,
      message,
      step: this.#o.id,
      ...(host ? { host } : {}),
      ...(fields ? { fields } : {}),
    });
  }

  async execute(): Promise<RolloutResult> {
    const o = this.#o;
    const ordered = orderHosts(o.hosts, o.roleOrder);
    const batches = planBatches(ordered, o.serial);
    const batchOf = new Map(batches.flatMap((batch, i) => batch.map((h) => [h.name, i + 1] as const)));
    this.#recorded = await loadHosts(
      o.state,
      this.#identity,
      ordered.map((h) => h.name),
      this.#runId,
      { idempotent: o.idempotent, skipIf: Boolean(o.skipIf) },
    );
    const reports: BatchReport[] = [];
    try {
      const inDoubt = await this.#settleInterrupted(ordered, batchOf);
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
        const todo = batch.filter((h) => this.#recorded.get(h.name)?.kind !== 'done');
        if (todo.length === 0) {
          reports.push({ index, hosts: batch.map((h) => h.name), status: 'done-before', failed: [] });
          continue;
        }
        if (status !== 'succeeded' && status !== 'partial') {
          reports.push({ index, hosts: batch.map((h) => h.name), status: 'not-started', failed: [] });
          continue;
        }
        if (this.#signal.aborted) {
          status = 'aborted';
          reports.push({ index, hosts: batch.map((h) => h.name), status: 'aborted', failed: [] });
          continue;
        }
        const report = await this.#runBatch(index, batch, todo, batches.length);
        reports.push(report);
        await this.#closeConnections();
        if (report.status === 'aborted') status = 'aborted';
        else if (report.status === 'failed') {
          status = 'halted';
          error = this.#haltError(report, batches, batchOf);
        } else if (report.status === 'tolerated') status = 'partial';
      }
      if (status === 'aborted') {
        error = new UpgradeKitError(
          ErrorCodes.ABORTED,
          `Rollout ${o.id} was stopped: ${describeError(this.#signal.reason).message}`,
          { cause: this.#signal.reason, context: { rollout: o.id } },
        );
      }
      return await this.#result(ordered, batches, batchOf, reports, status, error);
    } finally {
      await this.#closeConnections();
    }
  }

  /** Hosts a crash interrupted: the shared resume decision, with skipIf asked when it needs it. */
  async #settleInterrupted(ordered: readonly RolloutHost[], batchOf: Map<string, number>): Promise<string[]> {
    const o = this.#o;
    const inDoubt: string[] = [];
    for (const host of ordered) {
      const recorded = this.#recorded.get(host.name)!;
      if (recorded.kind !== 'interrupted') continue;
      let decision = recorded.decision;
      if (decision.action === 'check') {
        const answer = await this.#check(host, batchOf.get(host.name)!, recorded.record.attempt);
        decision = decideResume({ ...recorded.facts, answer });
      }
      if (decision.action === 'skip') {
        // On the new version already, and it must be healthy — and serve that version — to count as done.
        const health = await this.#gate(host);
        const wrong =
          !health || health.healthy
            ? await this.#wrongVersion(host, batchOf.get(host.name)!, recorded.record.attempt)
            : undefined;
        if (wrong) {
          this.#log(
            'warn',
            `${host.name}: ${decision.reason}, but ${wrong.detail}; upgrading it again`,
            host.name,
          );
          this.#recorded.set(host.name, { kind: 'pending', record: recorded.record });
          continue;
        }
        if (!health || health.healthy) {
          const reason = `${decision.reason}${health ? ' and healthy' : ''}`;
          await setHostStatus(o.state, this.#identity, host.name, 'succeeded', this.#runId, reason);
          this.#recorded.set(host.name, { kind: 'done', record: recorded.record });
          this.#log('warn', `${host.name}: ${reason}; it is on ${o.to} already`, host.name);
          continue;
        }
        this.#log('warn', `${host.name}: ${decision.reason}, but not healthy; upgrading it again`, host.name);
        this.#recorded.set(host.name, { kind: 'pending', record: recorded.record });
      } else if (decision.action === 'blocked') {
        if (decision.write === 'decided') {
          await setHostStatus(o.state, this.#identity, host.name, 'in_doubt', this.#runId, decision.reason!);
        }
        inDoubt.push(host.name);
      } else {
        this.#log('warn', `${host.name}: ${decision.reason}`, host.name);
        this.#recorded.set(host.name, { kind: 'pending', record: recorded.record });
      }
    }
    return inDoubt;
  }

  /** Asks skipIf about a host; a check that cannot answer (host unreachable, a bug) is no answer. */
  async #check(host: RolloutHost, batch: number, attempt: number): Promise<CheckAnswer> {
    try {
      const ctx = await this.#context(host, batch, attempt, this.#signal);
      return (await this.#o.skipIf!(ctx)) ? 'applied' : 'not-applied';
    } catch (error) {
      this.#log('warn', `skipIf could not check ${host.name}: ${describeError(error).message}`, host.name);
      return 'unknown';
    }
  }

  async #runBatch(
    index: number,
    batch: readonly RolloutHost[],
    todo: readonly RolloutHost[],
    total: number,
  ): Promise<BatchReport> {
    const o = this.#o;
    const startedAt = Date.now();
    const names = batch.map((h) => h.name);
    // Ansible's max_fail_percentage: the batch fails when more than this share of it failed.
    const budget = Math.floor((batch.length * o.maxFailPercent) / 100);
    let failures = 0;
    this.#log('info', `batch ${index} of ${total}: ${todo.map((h) => h.name).join(', ')}`, undefined, {
      batch: index,
      hosts: names,
    });
    await pool(todo, Math.min(o.concurrency ?? todo.length, todo.length), async (host) => {
      // Over budget or stopped: the hosts not started yet stay untouched.
      if (failures > budget || this.#signal.aborted) return;
      const outcome = await this.#upgradeHost(host, index);
      if (outcome.status === 'failed') failures++;
    });
    const failedNames = () => names.filter((n) => this.#outcomes.get(n)?.status === 'failed');
    if (this.#signal.aborted)
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
      observedMs = await this.#observe(
        index,
        todo.filter((h) => this.#outcomes.get(h.name)?.status === 'upgraded'),
      );
      failures = failedNames().length;
    }
    const status = this.#signal.aborted
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

  async #upgradeHost(host: RolloutHost, batch: number): Promise<HostOutcome> {
    const o = this.#o;
    const key = hostKey(this.#identity, host.name);
    const attempt = (this.#recorded.get(host.name)?.record?.attempt ?? 0) + 1;
    const started = performance.now();
    const logId = await o.state.beginStep({
      ...key,
      runId: this.#runId,
      taskName: `${o.id} on ${host.name}`,
      stage: o.stage,
      versionFrom: o.from,
      versionTo: o.to,
      attempt,
      startedAt: Date.now(),
    });
    this.#events.emit({ type: 'step.start', step: o.id, host: host.name, attempt });
    let health: HealthResult | undefined;
    try {
      await withTimeout(async (signal) => o.upgrade(await this.#context(host, batch, attempt, signal)), {
        ms: o.hostTimeoutMs,
        step: o.id,
        host: host.name,
        kind: 'service',
        signal: this.#signal,
        events: this.#events,
      });
      health = await this.#gate(host);
      if (health && !health.healthy) {
        throw new UpgradeKitError(
          ErrorCodes.UNHEALTHY,
          `${host.name} failed its health gate after the upgrade: ${health.passes} of ${o.healthGate!.passes} passes in a row within ${o.healthGate!.timeoutMs} ms (last: ${health.detail})`,
          { context: { host: host.name, probes: health.probes } },
        );
      }
      // A healthy answer may come from the old process still holding the port (a stop that
      // missed it): the version it serves tells them apart.
      const wrong = await this.#wrongVersion(host, batch, attempt);
      if (wrong) {
        throw new UpgradeKitError(
          ErrorCodes.UNHEALTHY,
          `${host.name} failed its ${o.healthGate ? 'health gate' : 'version check'} after the upgrade: ${wrong.detail} — if the old version is still serving, the upgrade did not stop it (check the pid file or unit it stops)`,
          { context: { host: host.name, expected: o.to, seen: wrong.seen } },
        );
      }
    } catch (error) {
      const status = this.#signal.aborted ? 'aborted' : 'failed';
      const durationMs = performance.now() - started;
      const message = describeError(error).message;
      await o.state
        .endStep(key, logId, status, {
          endedAt: Date.now(),
          durationMs,
          error: error instanceof Error ? error.message : String(error),
        })
        .catch(() => {});
      this.#events.emit({
        type: 'step.end',
        step: o.id,
        host: host.name,
        status,
        durationMs,
        error: { message, ...(error instanceof UpgradeKitError ? { code: error.code } : {}) },
      });
      this.#log(status === 'failed' ? 'error' : 'warn', `${host.name}: ${message}`, host.name);
      const outcome: HostOutcome = {
        status,
        attempt,
        durationMs,
        error: message,
        ...(health ? { health } : {}),
      };
      this.#outcomes.set(host.name, outcome);
      return outcome;
    }
    const durationMs = performance.now() - started;
    await o.state.endStep(key, logId, 'succeeded', { endedAt: Date.now(), durationMs, clearProgress: true });
    this.#events.emit({ type: 'step.end', step: o.id, host: host.name, status: 'succeeded', durationMs });
    const outcome: HostOutcome = { status: 'upgraded', attempt, durationMs, ...(health ? { health } : {}) };
    this.#outcomes.set(host.name, outcome);
    return outcome;
  }

  /** The health gate for one host: N passes in a row within the timeout. Undefined without a gate. */
  async #gate(host: RolloutHost): Promise<HealthResult | undefined> {
    const gate = this.#o.healthGate;
    if (!gate) return undefined;
    return waitHealthy({
      check: this.#checkFor(host),
      ...(this.#o.connect ? { runner: await this.#connection(host) } : {}),
      passes: gate.passes,
      intervalMs: gate.intervalMs,
      timeoutMs: gate.timeoutMs,
      signal: this.#signal,
    });
  }

  /**
   * With `probeVersion` (and `verifyVersion` not false): what is wrong with the version the host
   * serves, or undefined when it is `to`. A probe that cannot answer is wrong too: the gate
   * cannot tell the new version from the old.
   */
  async #wrongVersion(
    host: RolloutHost,
    batch: number,
    attempt: number,
  ): Promise<{ detail: string; seen?: string } | undefined> {
    const o = this.#o;
    if (!o.probeVersion || !o.verifyVersion) return undefined;
    let seen: string | undefined;
    try {
      const signal = AbortSignal.any([this.#signal, AbortSignal.timeout(10_000)]);
      seen =
        (await o.probeVersion({ ...(await this.#context(host, batch, attempt, signal)), signal })) ??
        undefined;
    } catch (error) {
      return { detail: `its version cannot be read (probeVersion: ${describeError(error).message})` };
    }
    if (seen === undefined) return { detail: 'probeVersion returned no version' };
    return sameVersion(seen, o.to)
      ? undefined
      : { detail: `it serves ${seen}, not ${o.to} (probeVersion)`, seen };
  }

  #checkFor(host: RolloutHost): HealthCheck {
    const check = this.#o.healthGate!.check;
    return typeof check === 'function' ? check(host) : check;
  }

  /** Observes a batch before the next one; a host that turns unhealthy is recorded as failed. */
  #observe(index: number, hosts: readonly RolloutHost[]): Promise<number> {
    const o = this.#o;
    this.#log('info', `observing batch ${index} for ${o.observeMs} ms`, undefined, { batch: index });
    return observe({
      hosts,
      windowMs: o.observeMs,
      intervalMs: o.healthGate?.intervalMs ?? 0,
      probe: o.healthGate
        ? async (host) =>
            probeHealth(this.#checkFor(host), {
              ...(o.connect ? { runner: await this.#connection(host) } : {}),
              signal: this.#signal,
            })
        : undefined,
      onUnhealthy: async (host, probe) => {
        const reason = `unhealthy during the observation window after batch ${index}: ${probe.detail}`;
        await setHostStatus(o.state, this.#identity, host.name, 'failed', this.#runId, reason);
        this.#outcomes.set(host.name, { ...this.#outcomes.get(host.name)!, status: 'failed', error: reason });
        this.#log('error', `${host.name}: ${reason}`, host.name);
      },
      signal: this.#signal,
    });
  }

  async #context(
    host: RolloutHost,
    batch: number,
    attempt: number,
    signal: AbortSignal,
  ): Promise<HostContext> {
    return Object.freeze({
      host,
      batch,
      attempt,
      runId: this.#runId,
      from: this.#o.from,
      to: this.#o.to,
      remote: this.#o.connect ? await this.#connection(host) : undefined,
      signal,
      events: this.#events,
    });
  }

  #connection(host: RolloutHost): Promise<HostConnection> {
    let connection = this.#connections.get(host.name);
    if (!connection) {
      connection = this.#o.connect!(host, this.#signal);
      // A failed connect is retried on the next use rather than cached.
      connection.catch(() => this.#connections.delete(host.name));
      this.#connections.set(host.name, connection);
    }
    return connection;
  }

  async #closeConnections(): Promise<void> {
    const open = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all(open.map((c) => c.then((conn) => conn.close?.()).catch(() => {})));
  }

  #haltError(
    report: BatchReport,
    batches: readonly RolloutHost[][],
    batchOf: Map<string, number>,
  ): UpgradeKitError {
    const untouched = batches
      .flat()
      .filter((h) => (batchOf.get(h.name) ?? 0) >= report.index)
      .filter((h) => !this.#outcomes.has(h.name) && this.#recorded.get(h.name)?.kind !== 'done')
      .map((h) => h.name);
    return haltError({
      id: this.#o.id,
      report,
      batches: batches.length,
      maxFailPercent: this.#o.maxFailPercent,
      reasons: new Map([...this.#outcomes].map(([name, outcome]) => [name, outcome.error])),
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
    const o = this.#o;
    const allReports =
      reports.length > 0
        ? reports
        : batches.map((b, i) => ({
            index: i + 1,
            hosts: b.map((h) => h.name),
            status: 'not-started' as const,
            failed: [],
          }));
    // Probing hosts that are not done can take a round trip each: do them together.
    const hosts = await Promise.all(
      ordered.map(async (host) => {
        const outcome = this.#outcomes.get(host.name);
        const recorded = this.#recorded.get(host.name);
        const batch = batchOf.get(host.name)!;
        const probed = isDone(outcome, recorded)
          ? undefined
          : await this.#probeVersion(host, batch, outcome?.attempt ?? recorded?.record?.attempt ?? 0);
        return describeHost({ host, batch, outcome, recorded, from: o.from, to: o.to, probed });
      }),
    );
    return {
      id: o.id,
      runId: this.#runId,
      status,
      from: o.from,
      to: o.to,
      batches: allReports,
      hosts,
      versions: Object.fromEntries(hosts.map((h) => [h.name, h.version])),
      durationMs: performance.now() - this.#started,
      ...(error ? { error } : {}),
    };
  }

  async #probeVersion(host: RolloutHost, batch: number, attempt: number): Promise<string | undefined> {
    if (!this.#o.probeVersion) return undefined;
    try {
      // The run's own signal may have fired (abort): the report still deserves an answer.
      const signal = AbortSignal.timeout(10_000);
      const ctx = { ...(await this.#context(host, batch, attempt, signal)), signal };
      return (await this.#o.probeVersion(ctx)) ?? undefined;
    } catch (error) {
      this.#log(
        'warn',
        `cannot read the version of ${host.name}: ${describeError(error).message}`,
        host.name,
      );
      return undefined;
    }
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
