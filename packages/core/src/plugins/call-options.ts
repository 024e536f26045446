import { z } from 'zod';
import type { EventSink } from '../events/index.js';

// The options every way of running a plugin method takes, written once so `runInProcess` and
// `runIsolated` check them alike (and `runPlugin` can hand either one the same options).

export const timeoutMsOption = z
  .number()
  .positive('must be a positive number of milliseconds')
  .default(10 * 60_000);

export const callOptions = {
  cwd: z.string().optional(),
  name: z.string().min(1, 'must be a non-empty string').optional(),
  stage: z.string().optional(),
  host: z.string().optional(),
};

export const signalOptions = {
  signal: z.instanceof(AbortSignal).optional(),
  events: z.custom<EventSink>((v) => typeof (v as EventSink | undefined)?.emit === 'function').optional(),
};

/**
 * Where a call runs and who watches it — its stage, host, cancellation and events, only those
 * given — for the timeout or the retries around it, which report with the same labels.
 */
export function callScope(o: {
  readonly stage?: string | undefined;
  readonly host?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly events?: EventSink | undefined;
}) {
  return {
    ...(o.stage ? { stage: o.stage } : {}),
    ...(o.host ? { host: o.host } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.events ? { events: o.events } : {}),
  };
}
