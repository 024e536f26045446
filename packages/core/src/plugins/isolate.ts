import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import type { EventSink } from '../events/index.js';
import { nullSink } from '../events/internal.js';
import { validateOptions } from '../options/index.js';
import { UpgradeKitTimeoutError, withTimeout } from '../resilience/index.js';
import { callOptions, callScope, signalOptions, timeoutMsOption } from './call-options.js';
import { type PluginFailureContext, pluginFailed, type RemoteError, reviveError } from './failure.js';
import { type ResolvedPlugin, resolvePlugin } from './load.js';
import { pluginLog } from './log.js';
import { readLines } from './output.js';
import {
  type CallMessage,
  checkCall,
  type ErrorMessage,
  isChildMessage,
  type ResultMessage,
} from './protocol.js';
import { checkResult } from './results.js';
import type { PluginContext, PluginMethod, PluginMethodResult } from './types.js';

const optionsSchema = z.object({
  timeoutMs: timeoutMsOption,
  memoryMb: z.number().int('must be a whole number').min(16, 'must be at least 16').default(128),
  ...callOptions,
  env: z.record(z.string(), z.string()).optional(),
  inheritEnv: z.boolean().default(false),
  ...signalOptions,
});

export type RunIsolatedOptions = z.input<typeof optionsSchema>;
type Options = z.output<typeof optionsSchema>;

const STDERR_TAIL = 4096;
const OUT_OF_MEMORY = /heap out of memory|Reached heap limit|Allocation failed/i;
// What a plugin needs to find programs and speak the locale; nothing that could hold a secret.
const SAFE_ENV =
  /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|LC_[A-Z_]+|TZ|TMPDIR|TEMP|TMP|SYSTEMROOT|WINDIR|COMSPEC|PATHEXT)$/i;

// Process groups still running. Killed if this process exits first, so no plugin outlives the run.
const live = new Set<number>();
let exitHookInstalled = false;

/**
 * Runs one method of a plugin in a child process of its own, so that whatever the plugin does —
 * throw, loop forever, call `process.exit`, exhaust its memory — the run and other plugins go on
 * and the failure is reported with the plugin's name.
 *
 * The child has a V8 heap cap of `memoryMb`, runs in its own process group, and is killed with
 * everything it started (SIGKILL to the group) at `timeoutMs`, on `signal`, and once it answered.
 * Its `ctx.log` lines and its stdout/stderr become `log` events on `events`.
 *
 * Rejects with `UPGRADEKIT_PLUGIN_FAILED` (`context.fault` says how: `threw`, `exited`,
 * `killed`, `out-of-memory`, `bad-result`, `load`, `spawn`), `UPGRADEKIT_TIMEOUT` (with the
 * seed 004 §4.3 diagnostics, the plugin named in `details.detail`), `UPGRADEKIT_ABORTED`, or
 * `UPGRADEKIT_BAD_INPUT` for a plugin that cannot be found or is not a plugin.
 *
 * @example
 * const checks = await runIsolated('@acme/upgrade-orders', 'dataQuality', context, {
 *   timeoutMs: 60_000, memoryMb: 256, events,
 * });
 */
export async function runIsolated<M extends PluginMethod>(
  specifier: string,
  method: M,
  context: PluginContext,
  options: RunIsolatedOptions = {},
): Promise<PluginMethodResult<M>> {
  const o = validateOptions('runIsolated', optionsSchema, options);
  const checked = checkCall('runIsolated', method, context);
  const resolved = resolvePlugin(specifier, { ...(o.cwd ? { cwd: o.cwd } : {}) }, 'runIsolated');
  const call: CallState = { name: o.name ?? specifier, pid: undefined };
  try {
    const value = await withTimeout((signal) => callChild(resolved, method, checked, o, call, signal), {
      step: `plugin ${call.name}: ${method}()`,
      kind: 'plugin',
      detail: describeCall(resolved, method, o, call),
      ms: o.timeoutMs,
      // Time for the killed process group to be reaped, so the error can say it stopped.
      graceMs: 2000,
      ...callScope(o),
    });
    return checkResult(method, value, failureContext(resolved, method, call)) as PluginMethodResult<M>;
  } catch (error) {
    // The plugin's own name and the pid are known only once the child started.
    if (error instanceof UpgradeKitTimeoutError) {
      throw new UpgradeKitTimeoutError(
        {
          ...error.details,
          step: `plugin ${call.name}: ${method}()`,
          detail: describeCall(resolved, method, o, call),
        },
        error.cause,
      );
    }
    throw error;
  }
}

interface CallState {
  name: string;
  pid: number | undefined;
}

function describeCall(resolved: ResolvedPlugin, method: string, o: Options, call: CallState): string {
  const from = call.name === resolved.specifier ? '' : ` from ${resolved.specifier}`;
  const pid = call.pid === undefined ? '' : `, pid ${call.pid}`;
  return `plugin "${call.name}"${from}, ${method}(), heap cap ${o.memoryMb} MiB${pid}`;
}

function failureContext(resolved: ResolvedPlugin, method: string, call: CallState): PluginFailureContext {
  return {
    plugin: call.name,
    method,
    specifier: resolved.specifier,
    path: resolved.path,
    ...(call.pid === undefined ? {} : { pid: call.pid }),
  };
}

function callChild(
  resolved: ResolvedPlugin,
  method: PluginMethod,
  context: PluginContext,
  o: Options,
  call: CallState,
  signal: AbortSignal,
): Promise<unknown> {
  const emitLog = pluginLog(o.events ?? nullSink, () => call.name, method, o);
  const failure = (fault: Parameters<typeof pluginFailed>[0], what: string, extra = {}, cause?: unknown) =>
    pluginFailed(fault, what, { ...failureContext(resolved, method, call), ...extra }, cause);

  return new Promise((resolvePromise, reject) => {
    let child: ChildProcess;
    try {
      child = fork(childEntry.path, [], {
        cwd: resolve(o.cwd ?? process.cwd()),
        env: childEnv(o),
        execArgv: [`--max-old-space-size=${o.memoryMb}`, ...loaderArgs(resolved, o)],
        // Its own process group, so that one kill reaches everything the plugin started.
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        serialization: 'json',
      });
    } catch (error) {
      reject(
        error instanceof UpgradeKitError
          ? error
          : failure('spawn', `could not start: ${describeError(error).message}`, {}, error),
      );
      return;
    }
    const pid = child.pid;
    if (pid === undefined) {
      child.once('error', (error) =>
        reject(failure('spawn', `could not start: ${describeError(error).message}`, {}, error)),
      );
      return;
    }
    call.pid = pid;
    track(pid);
    emitLog('debug', `started in process ${pid} (heap cap ${o.memoryMb} MiB)`, { pid });

    let answer: ResultMessage | ErrorMessage | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let aborted = false;
    let closeTimer: NodeJS.Timeout | undefined;
    let finished = false;

    readLines(child.stdout!, (line) => emitLog('info', line));
    const stderr = readLines(child.stderr!, (line) => emitLog('warn', line), STDERR_TAIL);

    child.on('message', (message: unknown) => {
      if (!isChildMessage(message)) return;
      switch (message.type) {
        case 'ready':
          call.name = o.name ?? message.plugin.name;
          return;
        case 'log':
          emitLog(message.level, message.message, message.fields);
          return;
        default:
          answer ??= message;
      }
    });
    // Failed sends (the child died first) are reported through the exit, not here.
    child.on('error', () => {});
    const onAbort = () => {
      aborted = true;
      killGroup(pid, child);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.once('exit', (code, exitSignal) => {
      exit = { code, signal: exitSignal };
      // Whatever the plugin left behind in its group goes with it.
      killGroup(pid, child);
      // A grandchild that left the group may still hold the output pipes open; do not wait on it.
      closeTimer = setTimeout(finish, 1000);
    });
    child.once('close', finish);
    const message: CallMessage = { type: 'call', ...resolved, method, context };
    child.send(message, () => {});

    function finish(): void {
      if (finished) return;
      finished = true;
      clearTimeout(closeTimer);
      signal.removeEventListener('abort', onAbort);
      live.delete(pid!);
      child.stdout?.destroy();
      child.stderr?.destroy();
      if (answer?.type === 'result') resolvePromise(answer.value);
      // On abort, withTimeout turns the signal's reason into the timeout or cancellation error.
      else reject(answer?.type === 'error' ? remoteFailure(answer) : aborted ? signal.reason : death());
    }

    /** Why the child ended without answering. */
    function death(): UpgradeKitError {
      const tail = stderr.tail();
      const details = { exitCode: exit?.code ?? null, signal: exit?.signal ?? null, stderr: tail };
      if (OUT_OF_MEMORY.test(tail)) {
        return failure('out-of-memory', `ran out of memory (cap ${o.memoryMb} MiB)`, {
          ...details,
          memoryMb: o.memoryMb,
        });
      }
      const last = lastLines(tail);
      if (exit?.signal) {
        const hint = exit.signal === 'SIGKILL' ? ' (by the system out-of-memory killer or an operator?)' : '';
        return failure('killed', `was killed by ${exit.signal} before answering${hint}${last}`, details);
      }
      return failure(
        'exited',
        `exited with code ${exit?.code ?? 'unknown'} before answering${last}`,
        details,
      );
    }

    function remoteFailure(message: ErrorMessage): UpgradeKitError {
      const remote: RemoteError = message.error;
      const cause = reviveError(remote);
      if (message.phase === 'load') {
        // Not found / not a plugin keep their code; an import that threw is the plugin's failure.
        const code = remote.code === ErrorCodes.BAD_INPUT ? ErrorCodes.BAD_INPUT : ErrorCodes.PLUGIN_FAILED;
        return new UpgradeKitError(code, remote.message, {
          cause,
          context: {
            ...remote.context,
            ...failureContext(resolved, method, call),
            fault: code === ErrorCodes.BAD_INPUT ? 'bad-plugin' : 'load',
          },
        });
      }
      if (message.phase === 'result') {
        return failure(
          'bad-result',
          `answered with something that is not plain JSON: ${remote.message}`,
          { error: remote },
          cause,
        );
      }
      return failure(
        'threw',
        `threw: ${remote.name === 'Error' ? '' : `${remote.name}: `}${remote.message}`,
        { error: remote },
        cause,
      );
    }
  });
}

/** The last few lines of the child's stderr, for a message about a child that died on its own. */
function lastLines(tail: string): string {
  const lines = tail
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-5);
  return lines.length === 0 ? '' : `; its last output:\n  ${lines.join('\n  ')}`;
}

function killGroup(pid: number, child: ChildProcess): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already gone. Fall back to the child alone in case it never got a group.
    child.kill('SIGKILL');
  }
}

function track(pid: number): void {
  live.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const group of live) {
      try {
        process.kill(-group, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

function childEnv(o: Options): NodeJS.ProcessEnv {
  const base = o.inheritEnv
    ? { ...process.env }
    : Object.fromEntries(Object.entries(process.env).filter(([key]) => SAFE_ENV.test(key)));
  return { ...base, ...o.env };
}

/**
 * The child entry: `child.js` next to this file once compiled; `child.ts` when tests run the
 * sources, which then needs tsx in the child.
 */
const childEntry = (() => {
  for (const [file, typescript] of [
    ['child.js', false],
    ['child.ts', true],
  ] as const) {
    const path = fileURLToPath(new URL(file, import.meta.url));
    if (existsSync(path)) return { path, typescript };
  }
  return { path: fileURLToPath(new URL('child.js', import.meta.url)), typescript: false };
})();

function loaderArgs(resolved: ResolvedPlugin, o: Options): string[] {
  const pluginIsTypeScript = /\.[mc]?tsx?$/.test(resolved.path);
  if (!childEntry.typescript && !pluginIsTypeScript) return [];
  for (const from of [join(resolve(o.cwd ?? process.cwd()), 'noop.js'), fileURLToPath(import.meta.url)]) {
    try {
      return ['--import', pathToFileURL(createRequire(from).resolve('tsx')).href];
    } catch {
      // try the next place
    }
  }
  throw new UpgradeKitError(
    ErrorCodes.BAD_INPUT,
    `runIsolated: plugin "${resolved.specifier}" is TypeScript (${resolved.path}); compile it to JavaScript, or install tsx so it can be loaded as is`,
    { context: { specifier: resolved.specifier, path: resolved.path, fault: 'bad-plugin' } },
  );
}
