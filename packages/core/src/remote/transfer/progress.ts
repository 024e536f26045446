import type { EventSink } from '../../events/index.js';
import { ProgressTracker } from '../../events/index.js';

/**
 * A progress tracker that emits at most every `intervalMs` (and always the last update): an SFTP
 * transfer completes tens of thousands of writes per GiB, and an event per write would cost more
 * than the copy. Reporters throttle further for CI logs.
 */
export class TransferProgress {
  readonly #tracker: ProgressTracker;
  readonly #total: number;
  readonly #intervalMs: number;
  #lastEmit = 0;
  #done = 0;

  constructor(events: EventSink, label: string, host: string, total: number, intervalMs = 250) {
    this.#tracker = new ProgressTracker(events, label, { total, context: { host, step: 'transfer' } });
    this.#total = total;
    this.#intervalMs = intervalMs;
  }

  get done(): number {
    return this.#done;
  }

  update(done: number): void {
    this.#done = done;
    const now = performance.now();
    if (done < this.#total && now - this.#lastEmit < this.#intervalMs) return;
    this.#lastEmit = now;
    this.#tracker.update(done);
  }

  add(bytes: number): void {
    this.update(this.#done + bytes);
  }
}
