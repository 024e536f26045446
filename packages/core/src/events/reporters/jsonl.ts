import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCodes, UpgradeKitError } from '../../errors/index.js';
import type { UpgradeEvent } from '../types.js';
import { ProgressThrottle } from './throttle.js';

export interface JsonLinesReporterOptions {
  /** At most one progress event per item this often. Default 1000 ms; 0 keeps them all. */
  readonly progressIntervalMs?: number;
  readonly now?: () => number;
}

/**
 * Appends one JSON document per event to a file. Writes are synchronous so the file is complete
 * up to the last event even when the process is killed right after it.
 *
 * @example
 * const log = new JsonLinesReporter('upgrade-events.jsonl');
 * events.on('*', log.handle);
 */
export class JsonLinesReporter {
  #fd: number | undefined;
  readonly #throttle: ProgressThrottle;

  constructor(path: string, options: JsonLinesReporterOptions = {}) {
    if (typeof path !== 'string' || path === '') {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        'JsonLinesReporter: needs the `path` of the file to append events to (e.g. .upgradekit/events.jsonl)',
        { context: { where: 'JsonLinesReporter' } },
      );
    }
    mkdirSync(dirname(path), { recursive: true });
    this.#fd = openSync(path, 'a', 0o600);
    this.#throttle = new ProgressThrottle(options.progressIntervalMs ?? 1000, options.now);
  }

  readonly handle = (event: UpgradeEvent): void => {
    if (this.#fd === undefined) return;
    if (event.type === 'progress' && !this.#throttle.admit(event)) return;
    writeSync(this.#fd, `${JSON.stringify(event)}\n`);
  };

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
