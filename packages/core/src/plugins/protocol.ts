import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { LogLevel } from '../events/index.js';
import { STAGES, type StageAlias, type StageName } from '../model/index.js';
import { TASK_STAGES } from '../model/internal.js';
import { checkPluginContext } from './context.js';
import type { RemoteError } from './failure.js';
import {
  PLUGIN_METHODS,
  type PluginCallContext,
  type PluginContext,
  type PluginCriticality,
  type PluginMethod,
  type UpgradePlugin,
} from './types.js';

// The IPC messages between the parent (isolate.ts) and the child (child.ts). One call per child:
// the parent sends `call`; the child answers `ready` once the plugin loaded, any number of `log`s,
// then exactly one `result` or `error`, and exits.

export interface CallMessage {
  readonly type: 'call';
  readonly specifier: string;
  readonly url: string;
  readonly path: string;
  readonly method: PluginMethod;
  readonly context: PluginContext;
}

export interface ReadyMessage {
  readonly type: 'ready';
  readonly plugin: {
    readonly name: string;
    readonly version?: string;
    readonly criticality?: PluginCriticality;
  };
}

export interface LogMessage {
  readonly type: 'log';
  readonly level: LogLevel;
  readonly message: string;
  readonly fields?: Record<string, unknown>;
}

export interface ResultMessage {
  readonly type: 'result';
  /** Absent when the method answered `undefined`. */
  readonly value?: unknown;
  readonly implemented: boolean;
}

export interface ErrorMessage {
  readonly type: 'error';
  /** `load`: importing or checking the module; `call`: the method; `result`: sending its answer. */
  readonly phase: 'load' | 'call' | 'result';
  readonly error: RemoteError;
}

export type ChildMessage = ReadyMessage | LogMessage | ResultMessage | ErrorMessage;

export function isChildMessage(value: unknown): value is ChildMessage {
  const type = (value as { type?: unknown } | null)?.type;
  return type === 'ready' || type === 'log' || type === 'result' || type === 'error';
}

/**
 * Calls `method` on `plugin`, the same way in a child and in-process. A method the plugin does not
 * implement answers `undefined`; `tasks` may be a list or a function.
 */
export async function invokeMethod(
  plugin: UpgradePlugin,
  method: PluginMethod,
  context: PluginCallContext,
): Promise<{ implemented: boolean; value: unknown }> {
  if (method.startsWith('hooks.')) {
    const stage = method.slice('hooks.'.length) as StageName;
    // A plugin may name the cut-point as tasks.yaml does (`in_stop` for `preStart`).
    const alias = Object.entries(TASK_STAGES).find(([, s]) => s === stage)?.[0] as StageAlias | undefined;
    const hook = plugin.hooks?.[stage] ?? (alias ? plugin.hooks?.[alias] : undefined);
    if (!hook) return { implemented: false, value: undefined };
    return { implemented: true, value: await hook({ ...context, stage }) };
  }
  if (method === 'tasks') {
    const tasks = plugin.tasks;
    if (tasks === undefined) return { implemented: false, value: undefined };
    return { implemented: true, value: typeof tasks === 'function' ? await tasks(context) : tasks };
  }
  const fn = plugin[method as Exclude<PluginMethod, 'tasks' | `hooks.${string}`>] as
    | ((this: UpgradePlugin, context: PluginCallContext) => unknown)
    | undefined;
  if (typeof fn !== 'function') return { implemented: false, value: undefined };
  return { implemented: true, value: await fn.call(plugin, context) };
}

const METHOD_NAMES: readonly string[] = [...PLUGIN_METHODS, ...STAGES.map((stage) => `hooks.${stage}`)];

/**
 * Checks a call before anything runs: the method is one the SPI has, and the context is valid
 * JSON. A hook's context gets its stage.
 */
export function checkCall(where: string, method: unknown, context: unknown): PluginContext {
  if (typeof method !== 'string' || !METHOD_NAMES.includes(method)) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `${where}: unknown plugin method ${JSON.stringify(method) ?? String(method)}; methods are ${METHOD_NAMES.join(', ')}`,
      { context: { method: String(method) } },
    );
  }
  const checked = checkPluginContext(where, context);
  if (method.startsWith('hooks.')) {
    return { ...checked, stage: method.slice('hooks.'.length) as PluginContext['stage'] };
  }
  return checked;
}
