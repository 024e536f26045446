import { setTimeout as sleep } from 'node:timers/promises';
import pTimeout from 'p-timeout';
import { z } from 'zod';
import { ErrorCodes, isUpgradeKitError, UpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import type { EventSink } from '../events/index.js';
import { formatDuration, nullSink } from '../events/internal.js';
/** What kind of work timed out; decides the explanation and the suggestion (seed 004 §4.3.4). */
import type { TimeoutCategory } from '../model/index.js';
import { validateOptions } from '../options/index.js';
import { errorCodes } from './classify.js';
import { formatResources, type ResourceSnapshot, sampleResources } from './diagnostics.js';

export type { TimeoutCategory };

const CATEGORY_TEXT: Record<TimeoutCategory, { reason: string; suggestion: string }> = {
  network: {
    reason: 'the network operation did not complete: high latency, an unstable link or an unreachable host',
    suggestion: 'Check the network and the latency to the host, then retry the step.',
  },
  database: {
    reason: 'the database operation ran too long: a large data volume, an index rebuild or a lock wait',
    suggestion:
      'Check the database load and locks (SHOW PROCESSLIST / pg_stat_activity); consider an off-peak window or a longer timeout for this step.',
  },
  file: {
    reason: 'the file operation ran too long: a large file or slow disk I/O',
    suggestion: 'Check free disk space and disk I/O (iostat); large files may need a longer timeout.',
  },
  service: {
    reason: 'the service did not become ready: insufficient resources or a missing dependency',
    suggestion: "Check system resources, the service's dependencies and its log, then start it again.",
  },
  plugin: {
    reason: 'the plugin did not finish: heavy work or an endless loop',
    suggestion: "Check the plugin's log; if it is not critical, consider skipping it.",
  },
  unknown: {
    reason: 'the step did not finish within its timeout',
    suggestion: "Check the step's log; if the work is legitimately this long, raise its timeout.",
  },
};

export interface TimeoutDetails {
  readonly stage?: string;
  readonly step: string;
  readonly host?: string;
  readonly category: TimeoutCategory;
  readonly reason: string;
  readonly suggestion: string;
  /** Free-form detail for the category: a latency, a data size, a port, a plugin name. */
  readonly detail?: string;
  readonly timeoutMs: number;
  /** From start until the work stopped after being aborted, or until the grace period ran out. */
  readonly elapsedMs: number;
  readonly overrunMs: number;
  /** Whether the work stopped after its signal fired (false: it ignored the signal). */
  readonly stoppedAfterAbort: boolean;
  readonly resources: ResourceSnapshot;
}

/** A step ran past its timeout. Carries what an operator needs to decide what to do next. */
export class UpgradeKitTimeoutError extends UpgradeKitError {
  override name = 'UpgradeKitTimeoutError';
  readonly details: TimeoutDetails;

  constructor(details: TimeoutDetails, cause?: unknown) {
    const where = details.stage ? `[${details.stage}] ${details.step}` : details.step;
    const lines = [
      `Step timed out: ${where}${details.host ? ` on ${details.host}` : ''}`,
      `Cause: ${details.reason} (category: ${details.category}${details.detail ? `; ${details.detail}` : ''})`,
      `Timeout: ${formatDuration(details.timeoutMs)}, actual: ${formatDuration(details.elapsedMs)}, overrun: ${formatDuration(details.overrunMs)}${details.stoppedAfterAbort ? '' : ' (the work ignored its abort signal and may still be running)'}`,
      `Environment: ${formatResources(details.resources)}`,
      `Suggestion: ${details.suggestion}`,
    ];
    super(ErrorCodes.TIMEOUT, lines.join('\n'), {
      cause,
      context: { ...details, resources: { ...details.resources } },
    });
    this.details = details;
  }
}

const categories = ['network', 'database', 'file', 'service', 'plugin', 'unknown'] as const;

const optionsSchema = z.object({
  step: z.string().min(1, 'must be a non-empty string'),
  stage: z.string().optional(),
  host: z.string().optional(),
  kind: z.enum(categories).optional(),
  detail: z.string().optional(),
  ms: z.number().positive('must be a positive number of milliseconds'),
  warnAt: z
    .array(z.number().gt(0, 'fractions must be above 0').lt(1, 'fractions must be below 1'))
    .default([0.85, 0.95]),
  graceMs: z.number().nonnegative().optional(),
  diskPath: z.string().optional(),
  signal: z.instanceof(AbortSignal).optional(),
  events: z.custom<EventSink>((v) => typeof (v as EventSink | undefined)?.emit === 'function').optional(),
});

export type WithTimeoutOptions = z.input<typeof optionsSchema>;

/**
 * Runs `fn` with a deadline. At the deadline `fn`'s signal fires; after a short grace period for
 * it to stop, the promise rejects with an {@link UpgradeKitTimeoutError} that says which step, how
 * long, by how much, the machine's CPU/memory/disk at that moment, a likely cause and a suggestion.
 * `timeout.warning` events go out at each `warnAt` fraction, never after `fn` settled.
 *
 * @example
 * await withTimeout((signal) => runMigration({ signal }), {
 *   stage: 'preUpgrade', step: 'migrate-schema', kind: 'database', ms: 30 * 60_000, events,
 * });
 */
export async function withTimeout<T>(
  fn: (signal: AbortSignal) => T | PromiseLike<T>,
  options: WithTimeoutOptions,
): Promise<T> {
  if (typeof fn !== 'function') {
    throw new UpgradeKitError(ErrorCodes.BAD_INPUT, 'withTimeout: expected `fn` to be a function');
  }
  const o = validateOptions('withTimeout', optionsSchema, options);
  const sink = o.events ?? nullSink;
  const context = {
    step: o.step,
    ...(o.stage ? { stage: o.stage } : {}),
    ...(o.host ? { host: o.host } : {}),
  };
  o.signal?.throwIfAborted();

  const controller = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, controller.signal]) : controller.signal;
  const started = performance.now();
  let settled = false;
  const work = Promise.resolve().then(() => fn(signal));
  const finished = work.then(
    () => undefined,
    () => undefined,
  );
  void finished.then(() => {
    settled = true;
  });

  const timers = o.warnAt.map((fraction) =>
    setTimeout(() => {
      if (settled) return;
      const elapsedMs = performance.now() - started;
      sink.emit({
        type: 'timeout.warning',
        ...context,
        fraction,
        elapsedMs,
        remainingMs: Math.max(0, o.ms - elapsedMs),
        timeoutMs: o.ms,
      });
    }, o.ms * fraction).unref(),
  );

  try {
    return await pTimeout(work, {
      milliseconds: o.ms,
      ...(o.signal ? { signal: o.signal } : {}),
      fallback: async () => {
        controller.abort(
          new UpgradeKitError(ErrorCodes.TIMEOUT, `${o.step} timed out after ${formatDuration(o.ms)}`),
        );
        const graceMs = o.graceMs ?? Math.min(5000, Math.max(200, o.ms * 0.1));
        const [resources] = await Promise.all([
          sampleResources(o.diskPath),
          Promise.race([finished, sleep(graceMs, undefined, { ref: false })]),
        ]);
        const elapsedMs = performance.now() - started;
        const cause = settled
          ? await work.then(
              () => undefined,
              (error: unknown) => error,
            )
          : undefined;
        const category: TimeoutCategory = o.kind ?? categorize(cause);
        throw new UpgradeKitTimeoutError(
          {
            ...context,
            category,
            ...CATEGORY_TEXT[category],
            ...(o.detail ? { detail: o.detail } : {}),
            timeoutMs: o.ms,
            elapsedMs,
            overrunMs: Math.max(0, elapsedMs - o.ms),
            stoppedAfterAbort: settled,
            resources,
          },
          cause,
        );
      },
    });
  } catch (error) {
    if (o.signal?.aborted && !(error instanceof UpgradeKitTimeoutError)) {
      controller.abort(o.signal.reason);
      return await afterCancel(work, finished, () => settled, {
        step: o.step,
        context,
        reason: o.signal.reason,
        graceMs: o.graceMs ?? Math.min(5000, Math.max(200, o.ms * 0.1)),
      });
    }
    throw error;
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
}

/**
 * A cancelled call does not return before its work has stopped: reporting "cancelled" while the
 * work goes on (and commits) would be a lie. The work gets `graceMs` to stop; what it did decides
 * the outcome — it finished after all (its value, a success), it stopped and said how (its own
 * ABORTED error, e.g. "rolled back: …", is the account), or it ignored the signal (then it may
 * still be running, and the message says so).
 */
async function afterCancel<T>(
  work: Promise<T>,
  finished: Promise<unknown>,
  isSettled: () => boolean,
  o: {
    step: string;
    context: Record<string, string>;
    reason: unknown;
    graceMs: number;
  },
): Promise<T> {
  await Promise.race([finished, sleep(o.graceMs, undefined, { ref: false })]);
  const why = describeError(o.reason).message;
  if (!isSettled()) {
    throw new UpgradeKitError(
      ErrorCodes.ABORTED,
      `${o.step} was cancelled (${why}) but did not stop within ${formatDuration(o.graceMs)}: it may still be running, so what it did is in doubt`,
      { cause: o.reason, context: { ...o.context, stopped: false, graceMs: o.graceMs } },
    );
  }
  let failure: unknown;
  try {
    return await work;
  } catch (error) {
    failure = error;
  }
  // The work's own account of how it stopped (`UPGRADEKIT_ABORTED` it raised itself) is the truth
  // to tell; any other error is what it stopped with.
  const own = isUpgradeKitError(failure, ErrorCodes.ABORTED) && failure !== o.reason;
  const account = own
    ? (failure as Error).message
    : failure === o.reason
      ? undefined
      : `it stopped with: ${describeError(failure).message}`;
  throw new UpgradeKitError(
    ErrorCodes.ABORTED,
    account ? `${o.step} was cancelled (${why}): ${account}` : `${o.step} was cancelled: ${why}`,
    {
      cause: own ? failure : o.reason,
      context: {
        ...o.context,
        ...(own ? (failure as UpgradeKitError).context : {}),
        stopped: true,
      },
    },
  );
}

const NETWORK = /^(ECONN|EHOST|ENET|EPIPE|ETIMEDOUT|EAI_|ENOTCONN|UND_ERR)/;
const FILE = /^(ENOENT|EIO|ENOSPC|EMFILE|ENFILE|EISDIR|ENOTDIR|EBUSY|EDQUOT|EROFS)$/;
const DATABASE = /^(ER_|PROTOCOL_|\d{5}$|[0-9A-Z]{5}$)/;

/** The category of a cause, from its error codes, when the caller did not say. */
export function categorize(cause: unknown): TimeoutCategory {
  const codes = errorCodes(cause);
  if (codes.some((c) => NETWORK.test(c))) return 'network';
  if (codes.some((c) => FILE.test(c))) return 'file';
  if (codes.some((c) => DATABASE.test(c))) return 'database';
  return 'unknown';
}
