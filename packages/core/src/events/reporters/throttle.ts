import type { ProgressEvent } from '../types.js';

/**
 * Lets a progress event through when it is the first for its key, the last (done ≥ total),
 * or at least `intervalMs` after the previous one let through.
 */
export class ProgressThrottle {
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #last = new Map<string, number>();

  constructor(intervalMs: number, now: () => number = Date.now) {
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  static key(event: ProgressEvent): string {
    return `${event.host ?? ''}\u0000${event.stage ?? ''}\u0000${event.step ?? ''}\u0000${event.label}`;
  }

  admit(event: ProgressEvent): boolean {
    const key = ProgressThrottle.key(event);
    const now = this.#now();
    const finished = event.total !== undefined && event.done >= event.total;
    const last = this.#last.get(key);
    if (finished) {
      this.#last.delete(key);
      return true;
    }
    if (last === undefined || now - last >= this.#intervalMs) {
      this.#last.set(key, now);
      return true;
    }
    return false;
  }
}
