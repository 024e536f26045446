// What one execution of a rollout shares between its parts (settle, batches, hosts, report): the
// options, the run's identity, what each host's record and outcome is, and one connection per host.
import type { EventSink } from '../events/index.js';
import type { RecordedHost, RolloutIdentity } from './host-state.js';
import type { ResolvedOptions } from './options.js';
import type { RolloutHost } from './order.js';
import type { HostOutcome } from './report.js';
import type { HostConnection, HostContext } from './types.js';

export type LogLevel = 'info' | 'warn' | 'error';

export class RolloutContext {
  readonly o: ResolvedOptions;
  readonly runId: string;
  readonly events: EventSink;
  readonly signal: AbortSignal;
  readonly identity: RolloutIdentity;
  readonly started = performance.now();
  /** What happened to each host in this run. */
  readonly outcomes = new Map<string, HostOutcome>();
  /** What state held for each host when the run began, updated as interrupted hosts are settled. */
  recorded = new Map<string, RecordedHost>();
  readonly #connections = new Map<string, Promise<HostConnection>>();

  constructor(o: ResolvedOptions, runId: string, events: EventSink, signal: AbortSignal) {
    this.o = o;
    this.runId = runId;
    this.events = events;
    this.signal = signal;
    this.identity = {
      id: o.id,
      component: o.component,
      site: o.site,
      from: o.from,
      to: o.to,
      stage: o.stage,
    };
  }

  log(level: LogLevel, message: string, host?: string, fields?: Record<string, unknown>): void {
    this.events.emit({
      type: 'log',
      level,
      message,
      step: this.o.id,
      ...(host ? { host } : {}),
      ...(fields ? { fields } : {}),
    });
  }

  /** What the caller's upgrade, skipIf and probeVersion are given about a host. */
  async context(
    host: RolloutHost,
    batch: number,
    attempt: number,
    signal: AbortSignal,
  ): Promise<HostContext> {
    return Object.freeze({
      host,
      batch,
      attempt,
      runId: this.runId,
      from: this.o.from,
      to: this.o.to,
      remote: this.o.connect ? await this.connection(host) : undefined,
      signal,
      events: this.events,
    });
  }

  connection(host: RolloutHost): Promise<HostConnection> {
    let connection = this.#connections.get(host.name);
    if (!connection) {
      connection = this.o.connect!(host, this.signal);
      // A failed connect is retried on the next use rather than cached.
      connection.catch(() => this.#connections.delete(host.name));
      this.#connections.set(host.name, connection);
    }
    return connection;
  }

  async closeConnections(): Promise<void> {
    const open = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all(open.map((c) => c.then((conn) => conn.close?.()).catch(() => {})));
  }
}
