import * as util from 'node:util';
import cliProgress from 'cli-progress';
import { formatEvent, formatProgress } from '../format.js';
import {
  ASSESSMENT_STEP_PREFIX,
  ASSESSMENT_VERDICT,
  type LogLevel,
  type ProgressEvent,
  type StageStartEvent,
  type UpgradeEvent,
} from '../types.js';
import { ProgressThrottle } from './throttle.js';

// util.styleText arrived in Node 20.12; the Action also runs on older Node 20 of some Gitea runner
// images, where a named import would fail the whole bundle at load. There, no colour.
const styleText: (format: string, text: string) => string =
  (util as { styleText?: (format: string, text: string) => string }).styleText ?? ((_format, text) => text);

export interface ConsoleReporterOptions {
  /** Where to write. Default: `process.stderr` (stdout is kept for `--json` documents). */
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Live bars and colour. Default: the stream is a TTY and `CI` is not set. */
  readonly interactive?: boolean;
  /** Colour. Default: `interactive` and `NO_COLOR` is unset. */
  readonly color?: boolean;
  /** Off a TTY, at most one progress line per item this often. Default 5000 ms. */
  readonly progressIntervalMs?: number;
  /** Least severe log level shown. Default `info`. */
  readonly level?: LogLevel;
  /** Clock for throttling; tests pass their own. */
  readonly now?: () => number;
}

const LEVELS: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Said once while an assessment runs; its findings are in its report, printed after it. */
export const ASSESSING_LINE = 'assessing resources, data quality, compatibility and duration…';

const stageKey = (event: { readonly stage?: string; readonly host?: string }) =>
  `${event.stage ?? ''}\u0000${event.host ?? ''}`;

/**
 * Renders events for a person: live bars on a TTY, otherwise one plain line per event with
 * progress throttled so a CI log gets a line every few seconds, not thousands.
 *
 * What it leaves out, so that a reader sees each thing once (every event is still emitted):
 * - a stage with nothing in it: its `started` line waits for the stage's first line, and a stage
 *   that succeeded without one prints nothing at all;
 * - an assessment's section steps and its verdict, which its report (`renderAssessmentText`) says
 *   at length: one line says the assessment is running; a section that fails is printed.
 *
 * @example
 * const reporter = new ConsoleReporter();
 * events.on('*', reporter.handle);
 * // …
 * reporter.close();
 */
export class ConsoleReporter {
  readonly #stream: NodeJS.WritableStream;
  readonly #interactive: boolean;
  readonly #color: boolean;
  readonly #level: number;
  readonly #throttle: ProgressThrottle;
  #bars: cliProgress.MultiBar | undefined;
  readonly #active = new Map<string, cliProgress.SingleBar>();
  /** Stages started that have printed nothing yet, by stage and host. */
  readonly #pending = new Map<string, StageStartEvent>();
  #assessing = false;

  constructor(options: ConsoleReporterOptions = {}) {
    this.#stream = options.stream ?? process.stderr;
    const isTTY = Boolean((this.#stream as { isTTY?: boolean }).isTTY);
    this.#interactive = options.interactive ?? (isTTY && !process.env.CI);
    this.#color = options.color ?? (this.#interactive && !process.env.NO_COLOR);
    this.#level = LEVELS[options.level ?? 'info'];
    this.#throttle = new ProgressThrottle(options.progressIntervalMs ?? 5000, options.now);
  }

  /** Pass to `events.on('*', …)`; bound, so it can be handed around. */
  readonly handle = (event: UpgradeEvent): void => {
    if (event.type === 'log' && LEVELS[event.level] < this.#level) return;
    if (this.#assessment(event)) return;
    if (event.type === 'stage.start') {
      this.#pending.set(stageKey(event), event);
      return;
    }
    if (event.type === 'stage.end') {
      const start = this.#pending.get(stageKey(event));
      this.#pending.delete(stageKey(event));
      if (start && event.status === 'succeeded') {
        // Nothing ran in it: nothing to say.
        this.#finishBars(event);
        return;
      }
      if (start) this.#line(formatEvent(start));
    } else {
      this.#flushStages(event);
    }
    if (event.type === 'progress') {
      if (this.#interactive && event.total !== undefined && event.total > 0) {
        this.#bar(event);
        return;
      }
      if (!this.#throttle.admit(event)) return;
    }
    if (event.type === 'step.end' || event.type === 'stage.end') this.#finishBars(event);
    this.#line(this.#paint(event, formatEvent(event)));
  };

  /** An assessment's own events: true when handled (one line at its start, failures), false otherwise. */
  #assessment(event: UpgradeEvent): boolean {
    if (event.type === 'log' && event.fields?.kind === ASSESSMENT_VERDICT) {
      this.#assessing = false;
      return true;
    }
    if (
      (event.type !== 'step.start' && event.type !== 'step.end') ||
      !event.step.startsWith(ASSESSMENT_STEP_PREFIX)
    )
      return false;
    if (event.type === 'step.start' && !this.#assessing) {
      this.#assessing = true;
      this.#line(ASSESSING_LINE);
    }
    return event.type === 'step.start' || event.status === 'succeeded';
  }

  /** The `started` line of the stage an event belongs to, before the event's own line. */
  #flushStages(event: UpgradeEvent): void {
    for (const [key, start] of this.#pending) {
      if (event.stage !== undefined && event.stage !== start.stage) continue;
      if (start.host !== undefined && start.host !== event.host) continue;
      this.#pending.delete(key);
      this.#line(formatEvent(start));
    }
  }

  /** Stops live bars so the terminal is left clean. */
  close(): void {
    this.#bars?.stop();
    this.#bars = undefined;
    this.#active.clear();
  }

  #line(text: string): void {
    if (this.#bars && this.#active.size > 0) this.#bars.log(`${text}\n`);
    else this.#stream.write(`${text}\n`);
  }

  #bar(event: ProgressEvent): void {
    const key = ProgressThrottle.key(event);
    const payload = { text: formatProgress(event) };
    let bar = this.#active.get(key);
    if (!bar) {
      this.#bars ??= new cliProgress.MultiBar(
        {
          stream: this.#stream as NodeJS.WriteStream,
          format: '{bar} {text}',
          hideCursor: false,
          clearOnComplete: true,
          stopOnComplete: false,
          barsize: 24,
        },
        cliProgress.Presets.shades_classic,
      );
      bar = this.#bars.create(event.total ?? 0, event.done, payload);
      this.#active.set(key, bar);
    }
    bar.setTotal(event.total ?? 0);
    bar.update(event.done, payload);
    if (event.total !== undefined && event.done >= event.total) {
      this.#bars?.remove(bar);
      this.#active.delete(key);
      this.#line(formatEvent(event));
      if (this.#active.size === 0) this.close();
    }
  }

  #finishBars(event: UpgradeEvent): void {
    for (const [key, bar] of this.#active) {
      if (event.type === 'stage.end' || key.includes(`\u0000${event.step ?? ''}\u0000`)) {
        this.#bars?.remove(bar);
        this.#active.delete(key);
      }
    }
    if (this.#active.size === 0) this.close();
  }

  #paint(event: UpgradeEvent, text: string): string {
    if (!this.#color) return text;
    const failed = (event.type === 'step.end' || event.type === 'stage.end') && event.status === 'failed';
    if (failed || (event.type === 'log' && event.level === 'error')) return styleText('red', text);
    if (
      event.type === 'timeout.warning' ||
      event.type === 'retry' ||
      (event.type === 'log' && event.level === 'warn')
    ) {
      return styleText('yellow', text);
    }
    if ((event.type === 'step.end' || event.type === 'stage.end') && event.status === 'succeeded') {
      return styleText('green', text);
    }
    return text;
  }
}
