import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { EventSink } from '../events/index.js';

/**
 * Seed 004 §4.4.2.1's five-second confirmation: counts down in events, once a second, and rejects
 * with `UPGRADEKIT_ABORTED` when `signal` fires (Ctrl-C in the CLI) — nothing has been touched yet.
 */
export function countdown(ms: number, what: string, events: EventSink, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (ms <= 0) return resolve();
    const cancelled = () =>
      new UpgradeKitError(
        ErrorCodes.ABORTED,
        `${what} was cancelled during the countdown; nothing was changed`,
      );
    if (signal?.aborted) return reject(cancelled());
    const end = Date.now() + ms;
    let timer: NodeJS.Timeout;
    const tick = () => {
      const left = end - Date.now();
      if (left <= 0) {
        signal?.removeEventListener('abort', onAbort);
        return resolve();
      }
      events.emit({
        type: 'log',
        level: 'warn',
        step: 'rollback',
        message: `${what} starts in ${Math.ceil(left / 1000)} s — interrupt to cancel`,
      });
      timer = setTimeout(tick, Math.min(1000, left));
    };
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    tick();
  });
}
