import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { describeError } from '../errors/internal.js';
import { anObject, checkArguments, validateOptions } from '../options/index.js';
import type { CommandRunner } from './runner.js';
import { runnerSchema } from './runner.js';

/**
 * One health probe: an HTTP GET from the orchestrator, a command on the host (exit 0 = healthy),
 * or a hook of your own (true = healthy; false or a throw = unhealthy).
 */
export type HealthCheck =
  | {
      readonly http:
        | string
        | {
            readonly url: string;
            /** Healthy status codes. Default: any 2xx. */
            readonly status?: number | readonly number[];
            /**
             * The body must contain this text — put the version here (`"version":"2.4.0"`) and
             * the old process, still answering on the port, cannot pass.
             */
            readonly bodyIncludes?: string;
            /** Per request. Default 5 s. */
            readonly timeoutMs?: number;
          };
    }
  | { readonly command: readonly string[]; readonly timeoutMs?: number }
  | { readonly hook: (probe: { readonly signal: AbortSignal }) => boolean | Promise<boolean> };

export const healthCheckSchema = z.union([
  z.object({
    http: z.union([
      z.url({ message: 'must be an http(s) URL' }),
      z.object({
        url: z.url({ message: 'must be an http(s) URL' }),
        status: z.union([z.number().int(), z.array(z.number().int()).min(1)]).optional(),
        bodyIncludes: z.string().optional(),
        timeoutMs: z.number().positive().optional(),
      }),
    ]),
  }),
  z.object({
    command: z.array(z.string()).min(1, 'must be a non-empty argument vector such as ["curl", "-fsS", url]'),
    timeoutMs: z.number().positive().optional(),
  }),
  z.object({ hook: z.custom<(probe: { signal: AbortSignal }) => unknown>((v) => typeof v === 'function') }),
]);

export interface ProbeResult {
  readonly ok: boolean;
  /** What the probe saw: `HTTP 200`, `exit 1: connection refused`, the hook's error… */
  readonly detail: string;
}

/**
 * Runs one health probe and says what it saw; never throws for an unhealthy answer.
 *
 * @example
 * const { ok, detail } = await probeHealth({ http: 'http://10.0.0.5:8080/actuator/health' });
 */
export async function probeHealth(
  check: HealthCheck,
  options: { runner?: CommandRunner; signal?: AbortSignal } = {},
): Promise<ProbeResult> {
  checkArguments(
    'probeHealth',
    { check: anObject('a health check ({ http }, { tcp } or { command })') },
    { check },
  );
  const signal = options.signal ?? new AbortController().signal;
  try {
    if ('http' in check) {
      const spec = typeof check.http === 'string' ? { url: check.http } : check.http;
      const response = await fetch(spec.url, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(spec.timeoutMs ?? 5000)]),
        redirect: 'manual',
      });
      const body = await response.text();
      const expected = spec.status === undefined ? undefined : [spec.status].flat();
      const statusOk = expected
        ? expected.includes(response.status)
        : response.status >= 200 && response.status < 300;
      if (!statusOk) return { ok: false, detail: `HTTP ${response.status}: ${body.slice(0, 200)}` };
      if (spec.bodyIncludes !== undefined && !body.includes(spec.bodyIncludes)) {
        // What it said instead: with a version in `bodyIncludes`, the version that answers.
        return {
          ok: false,
          detail: `HTTP ${response.status}, body lacks ${JSON.stringify(spec.bodyIncludes)}: ${JSON.stringify(body.trim().slice(0, 200))}`,
        };
      }
      return { ok: true, detail: `HTTP ${response.status}` };
    }
    if ('command' in check) {
      if (!options.runner)
        return { ok: false, detail: 'a command health check needs a runner (local or SSH)' };
      const result = await options.runner.exec(check.command, {
        signal,
        timeoutMs: check.timeoutMs ?? 10_000,
      });
      const tail = (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ');
      return result.code === 0
        ? { ok: true, detail: 'exit 0' }
        : { ok: false, detail: `exit ${result.code ?? result.signal}${tail ? `: ${tail}` : ''}` };
    }
    const ok = await check.hook({ signal });
    return ok === true ? { ok: true, detail: 'hook: healthy' } : { ok: false, detail: 'hook: not healthy' };
  } catch (error) {
    return { ok: false, detail: describeError(error).message };
  }
}

const waitSchema = z.object({
  check: healthCheckSchema,
  runner: runnerSchema.optional(),
  passes: z.number().int().min(1, 'must be at least 1').default(1),
  intervalMs: z.number().nonnegative().default(1000),
  timeoutMs: z.number().positive().default(60_000),
  signal: z.instanceof(AbortSignal).optional(),
});

export interface WaitHealthyOptions {
  readonly check: HealthCheck;
  /** Where a `command` check runs. */
  readonly runner?: CommandRunner;
  /** Consecutive passes needed. Default 1. */
  readonly passes?: number;
  /** Default 1000 ms. */
  readonly intervalMs?: number;
  /** Default 60 s. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface HealthResult {
  readonly healthy: boolean;
  /** Consecutive passes at the end. */
  readonly passes: number;
  readonly probes: number;
  readonly elapsedMs: number;
  /** The last probe's detail: why it is not healthy, when it is not. */
  readonly detail: string;
}

/**
 * Probes until the check passes `passes` times in a row (a failure resets the count) or
 * `timeoutMs` runs out. Returns a result; it does not throw for "not healthy".
 *
 * @example
 * const health = await waitHealthy({ check: { http: 'http://10.0.0.5:8080/health' }, passes: 3, intervalMs: 2000 });
 * if (!health.healthy) throw new Error(`still unhealthy: ${health.detail}`);
 */
export async function waitHealthy(options: WaitHealthyOptions): Promise<HealthResult> {
  const o = validateOptions('waitHealthy', waitSchema, options);
  const started = performance.now();
  const deadline = started + o.timeoutMs;
  let passes = 0;
  let probes = 0;
  let detail = 'not probed';
  for (;;) {
    o.signal?.throwIfAborted();
    const probe = await probeHealth(options.check, {
      ...(o.runner ? { runner: o.runner } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    probes++;
    detail = probe.detail;
    passes = probe.ok ? passes + 1 : 0;
    const elapsedMs = performance.now() - started;
    if (passes >= o.passes) return { healthy: true, passes, probes, elapsedMs, detail };
    if (performance.now() + o.intervalMs > deadline)
      return { healthy: false, passes, probes, elapsedMs, detail };
    await sleep(o.intervalMs, undefined, o.signal ? { signal: o.signal } : {});
  }
}
