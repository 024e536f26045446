import { z } from 'zod';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { EventSink } from '../events/index.js';
import { nullSink } from '../events/internal.js';
import { validateOptions } from '../options/index.js';
import {
  type HealthCheck,
  type HealthResult,
  healthCheckSchema,
  probeHealth,
  waitHealthy,
} from './health.js';
import { assertAbsolutePath, isAlive } from './pid.js';
import { runnerSchema } from './runner.js';
import { assertUnitName } from './systemd.js';

// Starts "$@" detached from the SSH channel: its own session (no SIGHUP when the channel closes),
// stdin from /dev/null, output appended to the log. Values arrive as positional parameters only.
// The log is opened here first: if it cannot be (its directory is missing), the detached process
// would die at once with the reason written nowhere, and the start would fail for "no reason".
const DETACH = `dir=$1; log=$2; pidfile=$3; shift 3
cd -- "$dir" || exit 97
true >>"$log" || exit 96
if command -v setsid >/dev/null 2>&1; then setsid "$@" >>"$log" 2>&1 </dev/null &
else nohup "$@" >>"$log" 2>&1 </dev/null &
fi
pid=$!
if [ -n "$pidfile" ]; then echo "$pid" >"$pidfile" || exit 98; fi
echo "$pid"`;

const schema = z
  .object({
    runner: runnerSchema,
    /** Started detached; its pid goes to `pidFile`, its output to `log`. */
    command: z.array(z.string()).min(1, 'must be a non-empty argument vector').optional(),
    unit: z.string().optional(),
    cwd: z.string().default('/'),
    log: z.string().default('/dev/null'),
    pidFile: z.string().optional(),
    health: healthCheckSchema.optional(),
    /** Consecutive healthy probes needed. Default 1. */
    passes: z.number().int().min(1).default(1),
    intervalMs: z.number().nonnegative().default(1000),
    /** Seed 001 §6.1.3.5.4: a service should be usable within 2 minutes. */
    timeoutMs: z.number().positive().default(120_000),
    signal: z.instanceof(AbortSignal).optional(),
    events: z.custom<EventSink>((v) => typeof (v as EventSink | undefined)?.emit === 'function').optional(),
  })
  .refine((o) => (o.command === undefined) !== (o.unit === undefined), {
    message: 'give exactly one of `command` (started detached) or `unit` (a systemd unit)',
  });

export type StartServiceOptions = z.input<typeof schema> & { readonly health?: HealthCheck };

export interface StartResult {
  readonly host: string;
  readonly pid?: number;
  /** From launch until healthy (or until launched, without a health check). */
  readonly elapsedMs: number;
  readonly health?: HealthResult;
}

/**
 * Starts a service and waits until it is healthy: a command launched detached (own session,
 * output to `log`, pid to `pidFile`) or a systemd unit, locally or over SSH. Throws
 * `UPGRADEKIT_UNHEALTHY` when it is not healthy within `timeoutMs`, or at once when the launched
 * process exits first — with the tail of its log.
 *
 * @example
 * await startService({
 *   runner: ssh, cwd: '/opt/app/current', command: ['./bin/app', '--port', '8080'],
 *   log: '/opt/app/app.log', pidFile: '/opt/app/app.pid',
 *   health: { http: 'http://10.0.0.5:8080/health' }, passes: 3, intervalMs: 2000, timeoutMs: 120_000,
 * });
 */
export async function startService(options: StartServiceOptions): Promise<StartResult> {
  const o = validateOptions('startService', schema, options);
  assertAbsolutePath(o.cwd, 'startService: `cwd`');
  assertAbsolutePath(o.log, 'startService: `log`');
  if (o.pidFile !== undefined) assertAbsolutePath(o.pidFile, 'startService: `pidFile`');
  if (o.unit !== undefined) assertUnitName(o.unit, 'startService: `unit`');
  const { runner, signal } = o;
  const events = o.events ?? nullSink;
  const started = performance.now();
  const opts = signal ? { signal } : {};

  let pid: number | undefined;
  if (o.command) {
    const result = await runner.exec(
      ['sh', '-c', DETACH, 'start', o.cwd, o.log, o.pidFile ?? '', ...o.command],
      opts,
    );
    const text = result.stdout.trim();
    if (result.code !== 0 || !/^\d+$/.test(text)) {
      throw new UpgradeKitError(
        ErrorCodes.SERVICE,
        `cannot start ${o.command[0]} on ${runner.host}: ${result.code === 97 ? `no directory ${o.cwd}` : result.code === 98 ? `cannot write pid file ${o.pidFile}` : result.code === 96 ? `cannot write its log ${o.log} (${result.stderr.trim() || 'no reason given'})` : result.stderr.trim() || `exit ${result.code}`}`,
        { context: { host: runner.host, command: o.command[0], cwd: o.cwd, log: o.log } },
      );
    }
    pid = Number(text);
  } else {
    const result = await runner.exec(['systemctl', 'start', '--', o.unit!], opts);
    if (result.code !== 0) {
      throw new UpgradeKitError(
        ErrorCodes.SERVICE,
        `systemctl start ${o.unit} failed on ${runner.host}: ${result.stderr.trim() || `exit ${result.code}`}`,
        { context: { host: runner.host, unit: o.unit } },
      );
    }
  }
  const what = o.command ? `${o.command[0]} (pid ${pid})` : `unit ${o.unit}`;
  events.emit({
    type: 'log',
    level: 'info',
    host: runner.host,
    message: `started ${what} on ${runner.host}`,
  });
  if (!o.health)
    return { host: runner.host, ...(pid ? { pid } : {}), elapsedMs: performance.now() - started };

  // Probe health, and stop waiting the moment the launched process is gone: no use waiting 2 min.
  let exited = false;
  let lastDetail: string | undefined;
  const check = options.health!;
  const gone = new AbortController();
  const health: HealthResult = await waitHealthy({
    check: {
      hook: async ({ signal: probeSignal }: { signal: AbortSignal }) => {
        const probe = await probeHealth(check, { runner, signal: probeSignal });
        if (probe.ok) return true;
        lastDetail = probe.detail;
        // Only an unhealthy answer costs a liveness check (one more round trip over SSH).
        if (pid !== undefined && !(await isAlive(runner, pid, probeSignal))) {
          exited = true;
          gone.abort();
        }
        return false;
      },
    },
    passes: o.passes,
    intervalMs: o.intervalMs,
    timeoutMs: o.timeoutMs,
    signal: signal ? AbortSignal.any([signal, gone.signal]) : gone.signal,
  }).catch((error: unknown) => {
    if (!exited) throw error;
    return { healthy: false, passes: 0, probes: 0, elapsedMs: 0, detail: 'process exited' };
  });
  const elapsedMs = performance.now() - started;
  if (health.healthy) {
    return { host: runner.host, ...(pid ? { pid } : {}), elapsedMs, health };
  }
  const tail =
    o.log !== '/dev/null'
      ? (
          await runner.exec(['tail', '-n', '20', '--', o.log], opts).catch(() => ({ stdout: '' }))
        ).stdout.trim()
      : '';
  throw new UpgradeKitError(
    ErrorCodes.UNHEALTHY,
    `${what} on ${runner.host} ${exited ? 'exited before it became healthy' : `was not healthy within ${o.timeoutMs} ms (${o.passes} passing probe${o.passes === 1 ? '' : 's'} in a row needed; last: ${lastDetail ?? health.detail})`}${tail ? `\nlast lines of ${o.log}:\n${tail}` : ''}`,
    { context: { host: runner.host, pid, exited, probes: health.probes, elapsedMs: Math.round(elapsedMs) } },
  );
}
