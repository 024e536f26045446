import { z } from 'zod';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import type { EventSink } from '../events/index.js';
import { nullSink } from '../events/internal.js';
import { validateOptions } from '../options/index.js';
import { withTimeout } from '../resilience/index.js';
import { callOptions, callScope, signalOptions, timeoutMsOption } from './call-options.js';
import { jsonProblem } from './context.js';
import { type PluginFailureContext, pluginFailed, serializeError } from './failure.js';
import { loadPlugin, pluginProblems } from './load.js';
import { pluginLog } from './log.js';
import { checkCall, invokeMethod } from './protocol.js';
import { checkResult } from './results.js';
import type {
  PluginContext,
  PluginLogger,
  PluginMethod,
  PluginMethodResult,
  UpgradePlugin,
} from './types.js';

const optionsSchema = z.object({ timeoutMs: timeoutMsOption, ...callOptions, ...signalOptions });

export type RunInProcessOptions = z.input<typeof optionsSchema>;

/**
 * Runs one method of a trusted (`core`) plugin in this process — the seed's lighter isolation for
 * core plugins. A throw, a rejection or a wrong answer is contained and reported like an isolated
 * plugin's, and the timeout fires its signal; but a synchronous endless loop, `process.exit` or a
 * memory blow-up takes this process with it. Anything not written by the upgrade's own team
 * belongs in {@link runIsolated}.
 *
 * The context and the answer are copied through JSON, so a plugin behaves the same here and in a
 * child process.
 *
 * @example
 * const info = await runInProcess(ordersPlugin, 'compatibility', context, { timeoutMs: 10_000, events });
 */
export async function runInProcess<M extends PluginMethod>(
  plugin: string | UpgradePlugin,
  method: M,
  context: PluginContext,
  options: RunInProcessOptions = {},
): Promise<PluginMethodResult<M>> {
  const o = validateOptions('runInProcess', optionsSchema, options);
  const checked = checkCall('runInProcess', method, context);
  const loaded =
    typeof plugin === 'string' ? (await loadPlugin(plugin, o.cwd ? { cwd: o.cwd } : {})).plugin : plugin;
  if (typeof plugin !== 'string') {
    const problems = pluginProblems(plugin);
    if (problems.length > 0) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `runInProcess: not an upgrade plugin — ${problems.join('; ')}`,
        {
          context: { problems, fault: 'bad-plugin' },
        },
      );
    }
  }
  const name = o.name ?? loaded.name;
  const failure: PluginFailureContext = {
    plugin: name,
    method,
    ...(typeof plugin === 'string' ? { specifier: plugin } : {}),
  };
  const emit = pluginLog(o.events ?? nullSink, () => name, method, o);
  const log: PluginLogger = {
    debug: (message, fields) => emit('debug', String(message), fields),
    info: (message, fields) => emit('info', String(message), fields),
    warn: (message, fields) => emit('warn', String(message), fields),
    error: (message, fields) => emit('error', String(message), fields),
  };

  const value = await withTimeout(
    async (signal) => {
      try {
        return (await invokeMethod(loaded, method, { ...checked, log, signal })).value;
      } catch (error) {
        throw pluginFailed(
          'threw',
          `threw: ${describeError(error).message}`,
          { ...failure, error: serializeError(error) },
          error,
        );
      }
    },
    {
      step: `plugin ${name}: ${method}()`,
      kind: 'plugin',
      detail: `plugin "${name}", ${method}(), in-process`,
      ms: o.timeoutMs,
      ...callScope(o),
    },
  );
  // The same round trip as over IPC: a core plugin cannot come to rely on what an isolated one can't.
  const problem = value === undefined ? undefined : jsonProblem(value, '', new Set());
  if (problem) {
    const where = problem.path ? `\`${problem.path}\`` : 'the value';
    throw pluginFailed(
      'bad-result',
      `answered with something that is not plain JSON: ${where} ${problem.what}`,
      failure,
    );
  }
  const copy: unknown = value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  return checkResult(method, copy, failure) as PluginMethodResult<M>;
}
