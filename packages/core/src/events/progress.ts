import type { EventSink, ProgressEvent } from './types.js';

export interface ProgressTrackerOptions {
  readonly total?: number;
  readonly unit?: 'bytes' | 'items';
  /** Rate is measured over this recent window, so it follows speed changes. Default 5000 ms. */
  readonly windowMs?: number;
  /** Context stamped on every event. */
  readonly context?: Pick<ProgressEvent, 'stage' | 'step' | 'host' | 'runId'>;
  readonly now?: () => number;
}

/**
 * Turns "this many units done" into progress events with rate, percent and ETA. Emits on every
 * update; reporters decide how often to show them.
 *
 * @example
 * const progress = new ProgressTracker(events, 'app.tar.gz', { total: size });
 * stream.on('data', (chunk) => progress.add(chunk.length));
 */
export class ProgressTracker {
  readonly #sink: EventSink;
  readonly #label: string;
  readonly #options: ProgressTrackerOptions;
  readonly #now: () => number;
  readonly #samples: { time: number; done: number }[] = [];
  #done = 0;

  constructor(sink: EventSink, label: string, options: ProgressTrackerOptions = {}) {
    this.#sink = sink;
    this.#label = label;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#samples.push({ time: this.#now(), done: 0 });
  }

  get done(): number {
    return this.#done;
  }

  add(units: number): void {
    this.update(this.#done + units);
  }

  update(done: number): void {
    this.#done = done;
    const now = this.#now();
    const windowMs = this.#options.windowMs ?? 5000;
    this.#samples.push({ time: now, done });
    while (this.#samples.length > 2 && now - (this.#samples[1]?.time ?? now) >= windowMs)
      this.#samples.shift();
    const first = this.#samples[0] ?? { time: now, done };
    const elapsed = (now - first.time) / 1000;
    const rate = elapsed > 0 ? (done - first.done) / elapsed : undefined;
    const { total, unit = 'bytes', context } = this.#options;
    const percent = total ? Math.min(100, (done / total) * 100) : undefined;
    const etaMs =
      total !== undefined && rate && rate > 0 ? (Math.max(0, total - done) / rate) * 1000 : undefined;
    this.#sink.emit({
      type: 'progress',
      ...context,
      label: this.#label,
      done,
      unit,
      ...(total === undefined ? {} : { total }),
      ...(rate === undefined ? {} : { rate }),
      ...(percent === undefined ? {} : { percent }),
      ...(etaMs === undefined ? {} : { etaMs }),
    });
  }
}
