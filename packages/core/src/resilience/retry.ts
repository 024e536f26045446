import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { z } from 'zod';
import { ErrorCodes, isUpgradeKitError, UpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import type { EventSink } from '../events/index.js';
import { nullSink } from '../events/internal.js';
import { validateOptions } from '../options/index.js';
import { type Classification, type Classifier, classifyError, type FailureReason } from './classify.js';

/** One failed attempt, as kept on the final error and shown to the operator. */
export interface AttemptRecord {
  readonly attempt: number;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly error: { readonly message: string; readonly code?: string; readonly name?: string };
  readonly decision: Classification['decision'];
  readonly reason: FailureReason;
  /** The wait before the next attempt; absent when none followed. */
  readonly delayMs?: number;
}

const policySchema = z.object({
  attempts: z.number().int('must be a whole number').min(1, 'must be at least 1').default(3),
  minDelayMs: z.number().nonnegative('must be a non-negative number').default(1000),
  maxDelayMs: z.number().nonnegative('must be a non-negative number').default(30_000),
  factor: z.number().min(1, 'must be at least 1').default(2),
  jitter: z.boolean().default(true),
  maxRetryTimeMs: z.number().positive().optional(),
  classify: z.custom<Classifier>((v) => typeof v === 'function', 'must be a function').optional(),
  step: z.string().default('operation'),
  stage: z.string().optional(),
  host: z.string().optional(),
  signal: z.instanceof(AbortSignal).optional(),
  events: z.custom<EventSink>((v) => typeof (v as EventSink | undefined)?.emit === 'function').optional(),
});

export type RetryPolicy = z.input<typeof policySchema>;

/** Retrying stopped: attempts ran out, or an attempt failed in a way retrying cannot fix. */
export class UpgradeKitRetryError extends UpgradeKitError {
  override name = 'UpgradeKitRetryError';
  readonly attempts: readonly AttemptRecord[];

  constructor(step: string, attempts: readonly AttemptRecord[], cause: unknown) {
    const last = attempts.at(-1);
    const exhausted = last?.decision === 'retry';
    const lastMessage = cause instanceof Error ? cause.message : String(cause);
    const summary = exhausted
      ? `${step} failed after ${attempts.length} attempt${attempts.length === 1 ? '' : 's'}`
      : `${step} failed with an error that retrying cannot fix (${last?.reason ?? 'unknown'})`;
    const history = attempts
      .map(
        (a) =>
          `  attempt ${a.attempt}: ${a.reason}${a.error.code ? ` ${a.error.code}` : ''}: ${a.error.message}`,
      )
      .join('\n');
    super(
      exhausted ? ErrorCodes.RETRY_EXHAUSTED : ErrorCodes.NOT_RETRYABLE,
      `${summary}: ${lastMessage}\n${history}`,
      {
        cause,
        context: { step, attempts },
      },
    );
    this.attempts = attempts;
  }
}

/** The wait after failed attempt `n` (from 1): exponential, capped, with up to 50% jitter. */
export function backoffDelay(
  attempt: number,
  policy: { minDelayMs: number; maxDelayMs: number; factor: number; jitter: boolean },
): number {
  const base = Math.min(policy.maxDelayMs, policy.minDelayMs * policy.factor ** (attempt - 1));
  return Math.round(policy.jitter ? base * (0.5 + Math.random() * 0.5) : base);
}

/**
 * Runs `fn` until it succeeds, the classifier says another attempt cannot help (authentication,
 * permission, disk full, bad input), or attempts run out. Every failed attempt is a `retry`
 * event; the final error is an {@link UpgradeKitRetryError} carrying the whole attempt history.
 *
 * @example
 * const rows = await retry(({ attempt }) => db.select('*').from('t'), {
 *   step: 'read-config', attempts: 5, minDelayMs: 500, events,
 * });
 */
export async function retry<T>(
  fn: (context: { readonly attempt: number; readonly signal: AbortSignal | undefined }) => T | PromiseLike<T>,
  policy: RetryPolicy = {},
): Promise<T> {
  if (typeof fn !== 'function') {
    throw new UpgradeKitError(ErrorCodes.BAD_INPUT, 'retry: expected `fn` to be a function');
  }
  const p = validateOptions('retry', policySchema, policy);
  if (p.maxDelayMs < p.minDelayMs) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      'retry: invalid options — `maxDelayMs` must not be below `minDelayMs`',
    );
  }
  const classify = p.classify ?? classifyError;
  const sink = p.events ?? nullSink;
  const context = {
    step: p.step,
    ...(p.stage ? { stage: p.stage } : {}),
    ...(p.host ? { host: p.host } : {}),
  };
  const history: AttemptRecord[] = [];
  const verdicts = new WeakMap<object, Classification>();
  let startedAt = Date.now();
  let started = performance.now();

  try {
    return await pRetry(
      async (attempt) => {
        startedAt = Date.now();
        started = performance.now();
        return fn(Object.freeze({ attempt, signal: p.signal }));
      },
      {
        retries: p.attempts - 1,
        // Backoff is computed here rather than inside p-retry so each event can state its real delay.
        minTimeout: 0,
        maxTimeout: 0,
        ...(p.maxRetryTimeMs ? { maxRetryTime: p.maxRetryTimeMs } : {}),
        ...(p.signal ? { signal: p.signal } : {}),
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          const verdict = classify(error);
          verdicts.set(error, verdict);
          const willRetry = verdict.decision === 'retry' && retriesLeft > 0;
          const delayMs = willRetry ? backoffDelay(attemptNumber, p) : undefined;
          const summary = describeError(error);
          history.push({
            attempt: attemptNumber,
            startedAt,
            durationMs: performance.now() - started,
            error: summary,
            ...verdict,
            ...(delayMs === undefined ? {} : { delayMs }),
          });
          sink.emit({
            type: 'retry',
            ...context,
            attempt: attemptNumber,
            attempts: p.attempts,
            decision: verdict.decision,
            reason: verdict.reason,
            error: { message: summary.message, ...(summary.code ? { code: summary.code } : {}) },
            ...(delayMs === undefined ? {} : { delayMs }),
          });
          if (delayMs) await sleep(delayMs, undefined, p.signal ? { signal: p.signal } : {});
        },
        shouldRetry: ({ error }) => (verdicts.get(error) ?? classify(error)).decision === 'retry',
      },
    );
  } catch (error) {
    if (p.signal?.aborted) {
      // An attempt that stopped on the signal said how (rolled back, in doubt): keep its words.
      if (error !== p.signal.reason && isUpgradeKitError(error, ErrorCodes.ABORTED)) throw error;
      throw new UpgradeKitError(
        ErrorCodes.ABORTED,
        `${p.step} was cancelled: ${describeError(p.signal.reason).message}`,
        {
          cause: p.signal.reason,
          context: { ...context, attempts: history },
        },
      );
    }
    if (history.length === 0) throw error;
    throw new UpgradeKitRetryError(p.step, history, error);
  }
}
