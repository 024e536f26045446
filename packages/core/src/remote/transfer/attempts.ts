import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, UpgradeKitError } from '../../errors/index.js';
import { describeError } from '../../errors/internal.js';
import type { EventSink } from '../../events/index.js';
import { backoffDelay } from '../../resilience/internal.js';
import { ADVICE, classifyTransfer, type TransferReason } from './classify.js';

export type TransferMethod = 'scp' | 'sftp';

export interface AttemptPlan {
  readonly events: EventSink;
  readonly host: string;
  /** `upload app.tar`, `download app.log`: the step named in events and errors. */
  readonly step: string;
  readonly attempts: number;
  readonly retryDelayMs: number;
  readonly signal?: AbortSignal;
  /** The method to start with and, when it is SFTP although scp was wanted, why. */
  readonly method: TransferMethod;
  readonly why?: string;
  /** Whether a failing scp may hand over to SFTP (method `auto`). */
  readonly mayFallBack: boolean;
  /** One attempt with a method. */
  readonly once: (method: TransferMethod) => Promise<void>;
  /** Before an scp retry: a reason to continue over SFTP instead (a resumable partial file), or undefined. */
  readonly switchBeforeRetry?: () => Promise<string | undefined>;
}

export interface AttemptOutcome {
  readonly method: TransferMethod;
  /** Why SFTP was used when scp was wanted; every such switch was also logged. */
  readonly fallback?: string;
  readonly attempts: number;
}

/**
 * Seed 004 §4.1.4 as a loop: retry what a retry can fix (network, verification), hand a failing
 * scp over to SFTP (at once when scp is missing or unusable, after the attempts otherwise), and
 * stop at once on authentication, host-key, permission and disk-full failures. Every failed
 * attempt is a `retry` event and every switch a `warn` log naming its reason.
 */
export async function runAttempts(plan: AttemptPlan): Promise<AttemptOutcome> {
  let method = plan.method;
  let fallback = plan.why;
  let attempt = 0;
  let total = 0;
  const log = (level: 'info' | 'warn', message: string) =>
    plan.events.emit({ type: 'log', level, host: plan.host, step: plan.step, message });
  const switchToSftp = (reason: string) => {
    log('warn', `${plan.step} on ${plan.host}: falling back from scp to SFTP — ${reason}`);
    method = 'sftp';
    fallback = reason;
    attempt = 0;
  };
  for (;;) {
    attempt++;
    total++;
    try {
      plan.signal?.throwIfAborted();
      await plan.once(method);
      return { method, attempts: total, ...(fallback ? { fallback } : {}) };
    } catch (error) {
      if (plan.signal?.aborted) {
        throw new UpgradeKitError(ErrorCodes.ABORTED, `${plan.step} on ${plan.host} was stopped`, {
          cause: plan.signal.reason,
          context: { host: plan.host, step: plan.step },
        });
      }
      const verdict = classifyTransfer(error);
      const message = describeError(error).message;
      const again = verdict.retry && attempt < plan.attempts;
      const canFallBack = method === 'scp' && plan.mayFallBack && verdict.fallback;
      const delayMs = again
        ? backoffDelay(attempt, {
            minDelayMs: plan.retryDelayMs,
            maxDelayMs: 30_000,
            factor: 2,
            jitter: true,
          })
        : undefined;
      plan.events.emit({
        type: 'retry',
        host: plan.host,
        step: `${plan.step} (${method})`,
        attempt,
        attempts: plan.attempts,
        decision: again || canFallBack ? 'retry' : 'fail-now',
        reason: verdict.reason,
        error: { message },
        ...(delayMs === undefined ? {} : { delayMs }),
      });
      if (again) {
        if (delayMs)
          await sleep(delayMs, undefined, plan.signal ? { signal: plan.signal } : {}).catch(() => {});
        if (method === 'scp' && plan.mayFallBack && plan.switchBeforeRetry) {
          const reason = await plan.switchBeforeRetry().catch(() => undefined);
          if (reason) switchToSftp(reason);
        }
        continue;
      }
      if (canFallBack) {
        switchToSftp(
          verdict.retry
            ? `scp failed ${attempt} time${attempt === 1 ? '' : 's'} (${verdict.reason}): ${message}`
            : `scp cannot be used (${verdict.reason}): ${message}`,
        );
        continue;
      }
      throw transferError(plan, method, verdict.reason, attempt, error);
    }
  }
}

function transferError(
  plan: AttemptPlan,
  method: TransferMethod,
  reason: TransferReason,
  attempts: number,
  cause: unknown,
): UpgradeKitError {
  const advice = ADVICE[reason];
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  return new UpgradeKitError(
    ErrorCodes.TRANSFER,
    `${plan.step} on ${plan.host} failed by ${method}${tries} (${reason}): ${describeError(cause).message}${advice ? ` — ${advice}` : ''}`,
    { cause, context: { host: plan.host, step: plan.step, method, reason, attempts } },
  );
}
