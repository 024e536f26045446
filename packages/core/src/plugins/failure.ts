import { ErrorCodes, isUpgradeKitError, UpgradeKitError } from '../errors/index.js';

/**
 * How a plugin call failed. `threw`: the method threw or rejected; `exited`: the process ended
 * before answering; `killed`: a signal nobody here sent; `out-of-memory`: the heap cap was hit;
 * `bad-result`: the answer was not the shape the SPI promises; `load`: importing the module failed;
 * `spawn`: the process could not start; `bad-plugin`: no such plugin, or not a plugin;
 * `timeout` and `aborted`: the call ran too long or was cancelled.
 */
export type PluginFault =
  | 'threw'
  | 'exited'
  | 'killed'
  | 'out-of-memory'
  | 'bad-result'
  | 'load'
  | 'spawn'
  | 'bad-plugin'
  | 'timeout'
  | 'aborted';

/** An error as it crosses the process boundary. */
export interface RemoteError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
  readonly context?: Readonly<Record<string, unknown>>;
}

export function serializeError(error: unknown): RemoteError {
  if (!(error instanceof Error))
    return { name: 'Error', message: `a non-error was thrown: ${String(error)}` };
  const code = (error as { code?: unknown }).code;
  const context = isUpgradeKitError(error) ? safeJson(error.context) : undefined;
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' || typeof code === 'number' ? { code: String(code) } : {}),
    ...(error.stack ? { stack: error.stack } : {}),
    ...(context ? { context } : {}),
  };
}

/** The child's error as a local Error, so it can be a `cause` with its own stack. */
export function reviveError(remote: RemoteError): Error {
  const error = new Error(remote.message);
  error.name = remote.name;
  if (remote.stack) error.stack = remote.stack;
  if (remote.code) Object.assign(error, { code: remote.code });
  return error;
}

export interface PluginFailureContext {
  readonly plugin: string;
  readonly method: string;
  readonly specifier?: string;
  readonly [key: string]: unknown;
}

/** An `UPGRADEKIT_PLUGIN_FAILED` error: "plugin "orders" dataQuality() threw: …". */
export function pluginFailed(
  fault: PluginFault,
  what: string,
  context: PluginFailureContext,
  cause?: unknown,
): UpgradeKitError {
  return new UpgradeKitError(
    ErrorCodes.PLUGIN_FAILED,
    `plugin "${context.plugin}" ${context.method}() ${what}`,
    { ...(cause === undefined ? {} : { cause }), context: { ...context, fault } },
  );
}

/** The fault behind an error from a plugin call. */
export function faultOf(error: unknown): PluginFault {
  if (!isUpgradeKitError(error)) return 'threw';
  switch (error.code) {
    case ErrorCodes.TIMEOUT:
      return 'timeout';
    case ErrorCodes.ABORTED:
      return 'aborted';
  }
  const fault = error.context.fault;
  return typeof fault === 'string' ? (fault as PluginFault) : 'threw';
}

function safeJson(value: unknown): Record<string, unknown> | undefined {
  try {
    return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
