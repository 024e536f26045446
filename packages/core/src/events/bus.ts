import { Redactor } from './redact.js';
import type { EventInput, EventOfType, EventSink, UpgradeEvent, UpgradeEventType } from './types.js';

type Listener<E> = (event: E) => void;

/**
 * The typed event stream. Emitting never throws: a failing listener is reported once as a
 * `log` event to the others and otherwise ignored, so a broken reporter cannot fail an upgrade.
 * Every event passes through the redactor first; register secrets with {@link EventBus.addSecret}.
 *
 * @example
 * const events = new EventBus();
 * events.on('step.end', (e) => console.error(e.step, e.status));
 * events.addSecret(process.env.DB_PASSWORD ?? '');
 */
export class EventBus implements EventSink {
  #listeners = new Map<UpgradeEventType | '*', Set<Listener<never>>>();
  #redactor = new Redactor();
  #context: Partial<Pick<UpgradeEvent, 'runId' | 'stage' | 'step' | 'host'>>;
  #reportingFailure = false;

  constructor(context: Partial<Pick<UpgradeEvent, 'runId' | 'stage' | 'step' | 'host'>> = {}) {
    this.#context = context;
  }

  /** Never let this value appear in an event: it is replaced by `***` wherever it occurs. */
  addSecret(secret: string): void {
    this.#redactor.add(secret);
  }

  /**
   * A value with every registered secret masked, for what leaves by another way than an event:
   * a command's result and report, a state row.
   */
  redact<T>(value: T): T {
    return this.#redactor.redact(value);
  }

  on<T extends UpgradeEventType>(type: T, listener: Listener<EventOfType<T>>): () => void;
  on(type: '*', listener: Listener<UpgradeEvent>): () => void;
  on(type: UpgradeEventType | '*', listener: Listener<never>): () => void {
    let set = this.#listeners.get(type);
    if (!set) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  emit(input: EventInput): void {
    const event = Object.freeze(
      this.#redactor.redact({ ...this.#context, ...input, time: input.time ?? Date.now() }),
    ) as UpgradeEvent;
    for (const key of [event.type, '*'] as const) {
      for (const listener of this.#listeners.get(key) ?? []) {
        try {
          (listener as Listener<UpgradeEvent>)(event);
        } catch (error) {
          this.#listenerFailed(error);
        }
      }
    }
  }

  /** A sink that stamps every event with extra context (a stage, a host) before emitting here. */
  child(context: Partial<Pick<UpgradeEvent, 'runId' | 'stage' | 'step' | 'host'>>): EventSink {
    return { emit: (input) => this.emit({ ...context, ...input } as EventInput) };
  }

  #listenerFailed(error: unknown): void {
    if (this.#reportingFailure) return;
    this.#reportingFailure = true;
    try {
      this.emit({
        type: 'log',
        level: 'warn',
        message: `an event listener threw and was skipped: ${error instanceof Error ? error.message : String(error)}`,
      });
    } finally {
      this.#reportingFailure = false;
    }
  }
}

/** A sink that drops everything, for callers that did not ask for events. */
export const nullSink: EventSink = Object.freeze({ emit: () => {} });
