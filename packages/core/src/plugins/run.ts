import { z } from 'zod';
import { ErrorCodes, isUpgradeKitError, UpgradeKitError } from '../errors/index.js';
import { validateOptions } from '../options/index.js';
import { type AttemptRecord, retry, UpgradeKitRetryError } from '../resilience/index.js';
import { checkRunArguments } from './arguments.js';
import { callScope } from './call-options.js';
import { faultOf, type PluginFault, pluginFailed } from './failure.js';
import { runInProcess } from './in-process.js';
import { type RunIsolatedOptions, runIsolated } from './isolate.js';
import type {
  PluginContext,
  PluginCriticality,
  PluginMethod,
  PluginMethodResult,
  UpgradePlugin,
} from './types.js';

/** How plugins of one criticality are run and what their failure means (seed 004 §4.5). */
export interface PluginPolicy {
  /** `in-process`: the seed's thread-level isolation for trusted code; `process`: a child process. */
  readonly isolation: 'in-process' | 'process';
  /** Heap cap of the child process. */
  readonly memoryMb: number;
  /** Retries after the first failure. */
  readonly retries: number;
  readonly retryDelayMs: number;
  /** What the upgrade does when the plugin still fails: stop (and offer rollback), skip it, or note it. */
  readonly onFailure: 'stop' | 'skip' | 'record';
}

/**
 * Seed 004 §4.5.1 and §4.5.3. Core: 512 MB, 3 retries 10 s apart, stop the upgrade. Business:
 * process isolation, 256 MB, 2 retries 5 s apart, skip and continue. Third-party (`optional`):
 * 128 MB, 1 retry at once, record and continue. The seed's container isolation for third-party
 * plugins is a child process here: no container runtime is assumed on customer hosts.
 */
export const PLUGIN_POLICIES: Readonly<Record<PluginCriticality, PluginPolicy>> = Object.freeze({
  core: Object.freeze({
    isolation: 'in-process',
    memoryMb: 512,
    retries: 3,
    retryDelayMs: 10_000,
    onFailure: 'stop',
  }),
  business: Object.freeze({
    isolation: 'process',
    memoryMb: 256,
    retries: 2,
    retryDelayMs: 5_000,
    onFailure: 'skip',
  }),
  optional: Object.freeze({
    isolation: 'process',
    memoryMb: 128,
    retries: 1,
    retryDelayMs: 0,
    onFailure: 'record',
  }),
});

const optionsSchema = z.looseObject({
  criticality: z.enum(['core', 'business', 'optional']).optional(),
  isolation: z.enum(['in-process', 'process']).optional(),
  retries: z.number().int('must be a whole number').nonnegative('must not be negative').default(0),
  retryDelayMs: z.number().nonnegative('must not be negative').optional(),
});

export interface RunPluginOptions extends RunIsolatedOptions {
  /**
   * The criticality the caller (the release, the site configuration) gives the plugin; picks
   * isolation and heap cap from {@link PLUGIN_POLICIES}. Default `optional`: untrusted until said
   * otherwise. What the plugin says about itself is not consulted.
   */
  readonly criticality?: PluginCriticality;
  /** Overrides the policy. A plugin object (not a specifier) can only run `in-process`. */
  readonly isolation?: 'in-process' | 'process';
}

/**
 * Runs one plugin method the way its criticality asks: in a child process for `business` and
 * `optional` plugins, in-process for `core` ones (see {@link runIsolated}, {@link runInProcess}).
 * Throws what those throw.
 *
 * @example
 * const requirements = await runPlugin('./plugins/orders.mjs', 'resources', context, {
 *   criticality: 'business', cwd: releaseDir, timeoutMs: 10_000, events,
 * });
 */
export async function runPlugin<M extends PluginMethod>(
  plugin: string | UpgradePlugin,
  method: M,
  context: PluginContext,
  options: RunPluginOptions = {},
): Promise<PluginMethodResult<M>> {
  checkRunArguments('runPlugin', plugin, method, context);
  const {
    criticality,
    isolation,
    retries: _retries,
    retryDelayMs: _delay,
    ...rest
  } = validateOptions('runPlugin', optionsSchema, options) as RunPluginSafelyOptions;
  const policy = PLUGIN_POLICIES[criticality ?? 'optional'];
  const mode = isolation ?? (typeof plugin === 'string' ? policy.isolation : 'in-process');
  if (mode === 'in-process') {
    const { memoryMb: _memory, env: _env, inheritEnv: _inherit, ...inProcess } = rest;
    return runInProcess(plugin, method, context, inProcess);
  }
  if (typeof plugin !== 'string') {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `runPlugin: plugin "${plugin.name}" is an object, which cannot be moved to a child process; pass its package name or path to isolate it`,
      { context: { plugin: plugin.name } },
    );
  }
  return runIsolated(plugin, method, context, { memoryMb: policy.memoryMb, ...rest });
}

export interface RunPluginSafelyOptions extends RunPluginOptions {
  /** Retries after a failure that another attempt could fix. Default 0; the seed's are in {@link PLUGIN_POLICIES}. */
  readonly retries?: number;
  /** Wait between attempts. Default: the policy's. */
  readonly retryDelayMs?: number;
}

interface PluginRunBase<M extends PluginMethod> {
  /**
   * The caller's name for the plugin — `name`, else the specifier, else the object's `name` — so
   * results line up with the configuration. Error messages use the plugin's own name.
   */
  readonly plugin: string;
  readonly method: M;
  readonly durationMs: number;
  readonly attempts: number;
}

export interface PluginRunSuccess<M extends PluginMethod> extends PluginRunBase<M> {
  readonly ok: true;
  readonly value: PluginMethodResult<M>;
}

export interface PluginRunFailure<M extends PluginMethod> extends PluginRunBase<M> {
  readonly ok: false;
  readonly fault: PluginFault;
  /** `UPGRADEKIT_PLUGIN_FAILED`, `UPGRADEKIT_TIMEOUT`, `UPGRADEKIT_ABORTED` or `UPGRADEKIT_BAD_INPUT`. */
  readonly error: UpgradeKitError;
  /** Every failed attempt, when there were retries. */
  readonly history: readonly AttemptRecord[];
}

export type PluginRunResult<M extends PluginMethod> = PluginRunSuccess<M> | PluginRunFailure<M>;

// Faults that repeat identically: the code, the answer's shape or the heap cap will not change.
const FINAL: readonly PluginFault[] = ['bad-plugin', 'bad-result', 'load', 'out-of-memory', 'aborted'];

/**
 * {@link runPlugin} that answers `{ ok: true, value }` or `{ ok: false, fault, error }` and never
 * throws for anything the plugin does — so one plugin's failure is a row in a report, not the end
 * of the run. Only invalid options throw. With `retries`, failures that another attempt could fix
 * (a throw, an exit, a timeout) are retried, each emitting a `retry` event.
 *
 * @example
 * const results = await Promise.all(
 *   plugins.map((p) => runPluginSafely(p.path, 'dataQuality', context, { criticality: p.criticality, events })),
 * );
 * for (const r of results) if (!r.ok) console.error(`${r.plugin}: ${r.fault}: ${r.error.message}`);
 */
export async function runPluginSafely<M extends PluginMethod>(
  plugin: string | UpgradePlugin,
  method: M,
  context: PluginContext,
  options: RunPluginSafelyOptions = {},
): Promise<PluginRunResult<M>> {
  checkRunArguments('runPluginSafely', plugin, method, context);
  const o = validateOptions('runPluginSafely', optionsSchema, options) as RunPluginSafelyOptions;
  const policy = PLUGIN_POLICIES[o.criticality ?? 'optional'];
  const name = o.name ?? (typeof plugin === 'string' ? plugin : String(plugin?.name));
  const started = performance.now();
  let attempts = 0;
  const base = () => ({ plugin: name, method, durationMs: performance.now() - started, attempts });
  try {
    const value = await retry(
      () => {
        attempts++;
        return runPlugin(plugin, method, context, o);
      },
      {
        step: `plugin ${name}: ${method}()`,
        attempts: (o.retries ?? 0) + 1,
        minDelayMs: o.retryDelayMs ?? policy.retryDelayMs,
        maxDelayMs: o.retryDelayMs ?? policy.retryDelayMs,
        jitter: false,
        classify: (error) => {
          const fault = faultOf(error);
          if (isUpgradeKitError(error, ErrorCodes.BAD_INPUT) || FINAL.includes(fault)) {
            return { decision: 'fail-now', reason: fault === 'aborted' ? 'aborted' : 'bad-input' };
          }
          return { decision: 'retry', reason: fault === 'timeout' ? 'timeout' : 'unknown' };
        },
        ...callScope(o),
      },
    );
    return { ok: true, ...base(), value };
  } catch (thrown) {
    // Report the plugin's own error, not the retry wrapper around it.
    const history = thrown instanceof UpgradeKitRetryError ? thrown.attempts : [];
    const last = thrown instanceof UpgradeKitRetryError ? thrown.cause : thrown;
    const error = isUpgradeKitError(last)
      ? last
      : pluginFailed(
          'threw',
          `failed: ${String((last as Error)?.message ?? last)}`,
          { plugin: name, method },
          last,
        );
    if (error.code === ErrorCodes.BAD_INPUT && error.context.fault === undefined) {
      // Wrong options, method or context: the caller's bug, not the plugin's fault.
      throw error;
    }
    return { ok: false, ...base(), fault: faultOf(error), error, history };
  }
}
