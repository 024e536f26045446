import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { EventSink } from '../events/index.js';
import { nullSink } from '../events/internal.js';
import { validateOptions } from '../options/index.js';
import { assertAbsolutePath, STOP_SCRIPT } from './pid.js';
import { describeListeners, type PortListener, portListeners } from './port.js';
import { type CommandRunner, runnerSchema } from './runner.js';
import { assertUnitName, unitState } from './systemd.js';

const schema = z
  .object({
    runner: runnerSchema,
    pidFile: z.string().optional(),
    pid: z.number().int().min(2).optional(),
    unit: z.string().optional(),
    /**
     * The TCP port the service listens on. When the stop finds no process, whoever still holds
     * the port is the evidence an operator needs: the old version may still be serving.
     */
    port: z.number().int().min(1).max(65535).optional(),
    /** Seed 001 §6.1.3.5: SIGTERM, wait 15 s, then SIGKILL. */
    graceMs: z.number().nonnegative().default(15_000),
    /** How long SIGKILL may take before the stop counts as failed. */
    killWaitMs: z.number().positive().default(5000),
    pollMs: z.number().positive().default(200),
    /** Remove the pid file once the process is gone. Default true. */
    removePidFile: z.boolean().default(true),
    signal: z.instanceof(AbortSignal).optional(),
    events: z.custom<EventSink>((v) => typeof (v as EventSink | undefined)?.emit === 'function').optional(),
  })
  .refine((o) => [o.pidFile, o.pid, o.unit].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of `pidFile`, `pid` or `unit` (the systemd unit)',
  });

export type StopServiceOptions = z.input<typeof schema>;

export interface StopResult {
  /** What was stopped: `pid 1234 (/run/app.pid)` or `unit app.service`. */
  readonly target: string;
  readonly host: string;
  readonly pid?: number;
  /** `terminated`: it exited after SIGTERM; `killed`: it needed SIGKILL. */
  readonly outcome: 'not-running' | 'terminated' | 'killed';
  readonly elapsedMs: number;
  /**
   * `not-running` with a `port`: who listens on it (`[]`: nobody). A listener means the pid file
   * or unit did not lead to the service — it still runs.
   */
  readonly portListeners?: readonly PortListener[];
}

/**
 * Stops a service gracefully (seed 001 §6.1.3.5): SIGTERM, wait up to `graceMs` (15 s) for it to
 * exit, then SIGKILL — by pid file, pid or systemd unit, locally or over SSH. A service that is not
 * running is a success (`not-running`), so a re-run after a crash is harmless — but it is logged as
 * a warning, since a wrong pid file looks the same: with `port`, the warning names whoever still
 * listens on it (pid and command line). Throws `UPGRADEKIT_SERVICE` only when the process outlives
 * SIGKILL.
 *
 * @example
 * const ssh = await SshSession.connect({ host: '10.0.0.5', username: 'deploy', privateKeyPath });
 * const { outcome } = await stopService({ runner: ssh, pidFile: '/opt/app/app.pid' });
 * // outcome: 'terminated' (exited on SIGTERM) or 'killed' (needed SIGKILL after 15 s)
 */
export async function stopService(options: StopServiceOptions): Promise<StopResult> {
  const o = validateOptions('stopService', schema, options);
  if (o.pidFile !== undefined) assertAbsolutePath(o.pidFile, 'stopService: `pidFile`');
  if (o.unit !== undefined) assertUnitName(o.unit, 'stopService: `unit`');
  const events = o.events ?? nullSink;
  const { runner, signal } = o;
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const log = (level: 'info' | 'warn', message: string) =>
    events.emit({ type: 'log', level, host: runner.host, message });

  if (o.unit !== undefined) {
    const result = await stopUnit(o.unit, o, log, started);
    return result.outcome === 'not-running'
      ? notRunning(result, `unit ${o.unit} is not active`, o, log)
      : result;
  }

  const polls = Math.ceil(o.graceMs / o.pollMs);
  const killPolls = Math.ceil(o.killWaitMs / o.pollMs);
  const label = o.pidFile ? `the process of ${o.pidFile}` : `pid ${o.pid}`;
  log('info', `stopping ${label} on ${runner.host}: SIGTERM, then SIGKILL after ${o.graceMs} ms`);
  const result = await runner.exec(
    [
      'sh',
      '-c',
      STOP_SCRIPT,
      'stop',
      o.pid === undefined ? '' : String(o.pid),
      o.pidFile ?? '',
      String(polls),
      String(killPolls),
      (o.pollMs / 1000).toFixed(3),
      o.removePidFile ? '1' : '0',
    ],
    signal ? { signal } : {},
  );
  const [word = '', pidText = ''] = result.stdout.trim().split(' ');
  const pid = /^\d+$/.test(pidText) ? Number(pidText) : undefined;
  const target = `pid ${pid ?? '-'}${o.pidFile ? ` (${o.pidFile})` : ''}`;
  if (word === 'not-running' || word === 'terminated' || word === 'killed') {
    if (word === 'killed')
      log('warn', `${target} on ${runner.host} ignored SIGTERM for ${o.graceMs} ms and was killed (SIGKILL)`);
    const result: StopResult = {
      target,
      host: runner.host,
      ...(pid ? { pid } : {}),
      outcome: word,
      elapsedMs: elapsed(),
    };
    if (word !== 'not-running') return result;
    const found =
      pid !== undefined
        ? `pid ${pid} of ${o.pidFile ?? 'the given pid'} is not running`
        : `there is no pid file ${o.pidFile}`;
    return notRunning(result, found, o, log);
  }
  if (word === 'alive') {
    throw new UpgradeKitError(
      ErrorCodes.SERVICE,
      `${target} on ${runner.host} is still running ${Math.round(elapsed())} ms after SIGTERM and SIGKILL; it may be stuck in the kernel (uninterruptible I/O) or owned by another user`,
      { context: { host: runner.host, pid, pidFile: o.pidFile } },
    );
  }
  throw new UpgradeKitError(
    ErrorCodes.SERVICE,
    word === 'bad-pid'
      ? `pid file ${o.pidFile} on ${runner.host} does not hold a process id (found ${JSON.stringify(result.stdout.trim().slice(8))}); remove it or fix the service's pid file setting`
      : `cannot stop ${label} on ${runner.host}: ${result.stderr.trim() || `exit ${result.code}`}`,
    { context: { host: runner.host, pidFile: o.pidFile, pid: o.pid } },
  );
}

/**
 * Nothing to stop: fine after a crash, wrong when the pid file or unit is not the service's. Say
 * so, with who holds the service's port when it is known.
 */
async function notRunning(
  result: StopResult,
  found: string,
  o: z.output<typeof schema>,
  log: (level: 'info' | 'warn', message: string) => void,
): Promise<StopResult> {
  const { runner } = o;
  if (o.port === undefined) {
    log(
      'warn',
      `nothing to stop on ${runner.host}: ${found}; if the service is running, it was started another way`,
    );
    return result;
  }
  const listeners = await portListeners(runner, o.port, o.signal).catch(() => undefined);
  if (listeners === undefined) {
    log(
      'warn',
      `nothing to stop on ${runner.host}: ${found}; who listens on port ${o.port} could not be read`,
    );
    return result;
  }
  log(
    'warn',
    listeners.length === 0
      ? `nothing to stop on ${runner.host}: ${found}, and port ${o.port} is free`
      : `nothing to stop on ${runner.host}: ${found}, yet port ${o.port} is held by ${describeListeners(listeners)} — the old version may still be serving; check the pid file (or unit) the stop uses`,
  );
  return { ...result, portListeners: listeners };
}

async function stopUnit(
  unit: string,
  o: z.output<typeof schema>,
  log: (level: 'info' | 'warn', message: string) => void,
  started: number,
): Promise<StopResult> {
  const { runner, signal } = o;
  const stopped = async () => ['inactive', 'failed'].includes(await unitState(runner, unit, signal));
  const result = (outcome: StopResult['outcome']): StopResult => ({
    target: `unit ${unit}`,
    host: runner.host,
    outcome,
    elapsedMs: performance.now() - started,
  });
  if (await stopped()) return result('not-running');
  log('info', `stopping unit ${unit} on ${runner.host}: SIGTERM, then SIGKILL after ${o.graceMs} ms`);
  // --no-block queues the stop job (systemd sends the unit's KillSignal, SIGTERM by default) and
  // returns, so our grace period rules rather than the unit's TimeoutStopSec; the queued stop job
  // also keeps Restart= from bringing it back while we wait.
  await expectOk(runner, ['systemctl', 'stop', '--no-block', '--', unit], signal);
  if (await waitGone(async () => !(await stopped()), o.graceMs, o.pollMs, signal))
    return result('terminated');
  log('warn', `unit ${unit} on ${runner.host} did not stop within ${o.graceMs} ms; sending SIGKILL`);
  await expectOk(runner, ['systemctl', 'kill', '--signal=SIGKILL', '--', unit], signal);
  if (await waitGone(async () => !(await stopped()), o.killWaitMs, o.pollMs, signal)) return result('killed');
  throw new UpgradeKitError(
    ErrorCodes.SERVICE,
    `unit ${unit} on ${runner.host} is still active after SIGTERM and SIGKILL; see \`systemctl status ${unit}\``,
    { context: { host: runner.host, unit } },
  );
}

async function expectOk(runner: CommandRunner, argv: string[], signal?: AbortSignal): Promise<void> {
  const result = await runner.exec(argv, signal ? { signal } : {});
  if (result.code !== 0) {
    throw new UpgradeKitError(
      ErrorCodes.SERVICE,
      `${argv.slice(0, 2).join(' ')} failed on ${runner.host}: ${result.stderr.trim() || `exit ${result.code}`}`,
      { context: { host: runner.host, command: argv } },
    );
  }
}

/** Polls until `alive()` is false; true if that happened within `ms`. */
async function waitGone(
  alive: () => Promise<boolean>,
  ms: number,
  pollMs: number,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (!(await alive())) return true;
    if (performance.now() >= deadline) return false;
    await sleep(
      Math.min(pollMs, Math.max(1, deadline - performance.now())),
      undefined,
      signal ? { signal } : {},
    );
  }
}
