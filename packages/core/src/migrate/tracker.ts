import { z } from 'zod';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { EventSink } from '../events/index.js';
import { formatShortDuration as duration, nullSink } from '../events/internal.js';
import { validateOptions } from '../options/index.js';

/** A task the tracker follows: how much work, at what expected rate. */
export interface TrackedTask {
  readonly id: string;
  /** Units of work: rows or bytes. */
  readonly volume: number;
  /** Expected units per second. */
  readonly rate: number;
  readonly unit?: 'rows' | 'bytes';
}

/** One correction of the remaining estimate (seed 001 §5.2.4: 动态调整). */
export interface EstimateCorrection {
  readonly task: string;
  readonly expectedRate: number;
  readonly actualRate: number;
  /** (actual − expected) / expected: +0.12 is 12% faster. */
  readonly deviation: number;
  readonly previousRemainingMs: number;
  readonly remainingMs: number;
}

const optionsSchema = z
  .object({
    tasks: z.array(
      z.object({
        id: z.string().min(1),
        volume: z.number().nonnegative('must be a non-negative amount of work'),
        rate: z.number().positive('must be a positive rate'),
        unit: z.enum(['rows', 'bytes']).optional(),
      }),
    ),
    /** How often {@link DurationTracker.start} samples the rate; the seed's 30 s. */
    intervalMs: z.number().positive().default(30_000),
    /** Correct when the rate is off by more than this share; the seed's 20%. */
    tolerance: z.number().positive().max(10).default(0.2),
    events: z.custom<EventSink>((v) => typeof (v as EventSink | undefined)?.emit === 'function').optional(),
    /** Milliseconds on a monotonic clock; replaceable in tests. */
    now: z.custom<() => number>((v) => typeof v === 'function').optional(),
  })
  .strict();

export type DurationTrackerOptions = z.input<typeof optionsSchema>;

/**
 * Follows long tasks while they run: the runner reports progress, the tracker measures the actual
 * rate every `intervalMs` and, when it is off the current assumption by more than `tolerance`,
 * corrects the remaining estimate of this and every later task and says so as an event.
 *
 * @example
 * const tracker = new DurationTracker({ tasks: [{ id: 'migrate_users', volume: 1e6, rate: 5000 }], events });
 * tracker.begin('migrate_users');
 * tracker.start(); // samples every 30 s
 * onBatch((rowsDone) => tracker.progress('migrate_users', rowsDone));
 * tracker.finish('migrate_users');
 * tracker.stop();
 */
export class DurationTracker {
  readonly #tasks: readonly TrackedTask[];
  readonly #options: z.output<typeof optionsSchema>;
  readonly #events: EventSink;
  readonly #now: () => number;
  readonly #done = new Map<string, number>();
  readonly #started = new Map<string, number>();
  readonly #finished = new Set<string>();
  /** Actual ÷ expected rate, applied to everything not yet done. */
  #factor = 1;
  #timer: NodeJS.Timeout | undefined;
  readonly #corrections: EstimateCorrection[] = [];

  constructor(options: DurationTrackerOptions) {
    this.#options = validateOptions('DurationTracker', optionsSchema, options);
    this.#tasks = this.#options.tasks;
    this.#events = this.#options.events ?? nullSink;
    this.#now = this.#options.now ?? (() => performance.now());
  }

  #task(id: string): TrackedTask {
    const task = this.#tasks.find((t) => t.id === id);
    if (!task)
      throw new UpgradeKitError(ErrorCodes.BAD_INPUT, `DurationTracker: unknown task "${id}"`, {
        context: { id },
      });
    return task;
  }

  /** The task started now. */
  begin(id: string): void {
    this.#task(id);
    this.#started.set(id, this.#now());
    this.#done.set(id, 0);
  }

  /** Units done so far by the task. */
  progress(id: string, done: number): void {
    this.#task(id);
    this.#done.set(id, Math.max(0, done));
  }

  finish(id: string): void {
    this.#task(id);
    this.#finished.add(id);
    this.#done.set(id, this.#task(id).volume);
  }

  /** The corrections made so far. */
  get corrections(): readonly EstimateCorrection[] {
    return this.#corrections;
  }

  /** Remaining time of all unfinished tasks at the current rate assumption. */
  remainingMs(): number {
    let ms = 0;
    for (const t of this.#tasks) {
      if (this.#finished.has(t.id)) continue;
      const left = Math.max(0, t.volume - (this.#done.get(t.id) ?? 0));
      ms += (left / (t.rate * this.#factor)) * 1000;
    }
    return Math.round(ms);
  }

  /**
   * Measures the running task's rate so far and corrects the estimate if it is off by more than
   * the tolerance. Returns the correction, if one was made.
   */
  sample(): EstimateCorrection | undefined {
    const running = this.#tasks.find((t) => this.#started.has(t.id) && !this.#finished.has(t.id));
    if (!running) return undefined;
    const elapsedS = (this.#now() - this.#started.get(running.id)!) / 1000;
    const done = this.#done.get(running.id) ?? 0;
    if (elapsedS <= 0 || done <= 0) return undefined;
    const actualRate = done / elapsedS;
    const expectedRate = running.rate * this.#factor;
    const deviation = (actualRate - expectedRate) / expectedRate;
    if (Math.abs(deviation) <= this.#options.tolerance) return undefined;
    const previousRemainingMs = this.remainingMs();
    this.#factor = actualRate / running.rate;
    const correction: EstimateCorrection = {
      task: running.id,
      expectedRate,
      actualRate,
      deviation,
      previousRemainingMs,
      remainingMs: this.remainingMs(),
    };
    this.#corrections.push(correction);
    const pct = `${deviation > 0 ? '+' : ''}${Math.round(deviation * 100)}%`;
    this.#events.emit({
      type: 'log',
      level: 'info',
      step: running.id,
      message: `estimate corrected: ${running.id} runs at ${actualRate.toFixed(1)}/s, ${pct} against the assumed ${expectedRate.toFixed(1)}/s; remaining ${duration(previousRemainingMs)} → ${duration(correction.remainingMs)}`,
      fields: { kind: 'estimate.corrected', ...correction },
    });
    return correction;
  }

  /** Samples every `intervalMs` until {@link stop}; the timer never keeps the process alive. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.sample(), this.#options.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
