/**
 * Stable error codes. Tools match on these, never on messages, so a code once shipped keeps its meaning.
 */
export const ErrorCodes = {
  BAD_INPUT: 'UPGRADEKIT_BAD_INPUT',
  BAD_VERSION: 'UPGRADEKIT_BAD_VERSION',
  TIMEOUT: 'UPGRADEKIT_TIMEOUT',
  RETRY_EXHAUSTED: 'UPGRADEKIT_RETRY_EXHAUSTED',
  NOT_RETRYABLE: 'UPGRADEKIT_NOT_RETRYABLE',
  ABORTED: 'UPGRADEKIT_ABORTED',
  LOCKED: 'UPGRADEKIT_LOCKED',
  LOCK_LOST: 'UPGRADEKIT_LOCK_LOST',
  IN_DOUBT: 'UPGRADEKIT_IN_DOUBT',
  STEP_FAILED: 'UPGRADEKIT_STEP_FAILED',
  /** A statement of an sql or clickhouse task failed on the server; `context.server` has the server's own code. */
  SQL_FAILED: 'UPGRADEKIT_SQL_FAILED',
  HOST_KEY: 'UPGRADEKIT_HOST_KEY',
  SSH: 'UPGRADEKIT_SSH',
  PLUGIN_FAILED: 'UPGRADEKIT_PLUGIN_FAILED',
  BACKUP_INVALID: 'UPGRADEKIT_BACKUP_INVALID',
  BACKUP_FAILED: 'UPGRADEKIT_BACKUP_FAILED',
  ROLLBACK_FAILED: 'UPGRADEKIT_ROLLBACK_FAILED',
  NO_UPGRADE_PATH: 'UPGRADEKIT_NO_UPGRADE_PATH',
  SERVICE: 'UPGRADEKIT_SERVICE',
  UNHEALTHY: 'UPGRADEKIT_UNHEALTHY',
  ROLLOUT_HALTED: 'UPGRADEKIT_ROLLOUT_HALTED',
  TRANSFER: 'UPGRADEKIT_TRANSFER',
  /**
   * A database could not be reached or refused the configured credentials or database: the
   * environment failed (exit 1), not the input — the same files may work once it is fixed.
   */
  CONNECTION: 'UPGRADEKIT_CONNECTION',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface UpgradeKitErrorOptions {
  readonly cause?: unknown;
  /** What an operator needs to act: file, line, field, step, host… Never secrets. */
  readonly context?: Readonly<Record<string, unknown>>;
}

/**
 * Base class of every error upgradekit throws on purpose.
 *
 * @example
 * try { parseVersion('two') } catch (error) {
 *   if (isUpgradeKitError(error, 'UPGRADEKIT_BAD_VERSION')) console.error(error.message);
 * }
 */
export class UpgradeKitError extends Error {
  override name = 'UpgradeKitError';
  readonly code: ErrorCode;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: UpgradeKitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.context = Object.freeze({ ...(options.context ?? {}) });
  }

  /**
   * The failure as fields for the state store and reports: the code and the context, without
   * anything long (a statement's full text stays in `context`, out of the store).
   */
  detail(): Record<string, unknown> {
    const short = Object.entries(this.context).filter(
      ([, v]) => !(typeof v === 'string' && v.length > 500) && typeof v !== 'function',
    );
    return { code: this.code, ...Object.fromEntries(short) };
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, context: this.context };
  }
}

/** True when `error` is an upgradekit error, optionally with the given code. */
export function isUpgradeKitError(error: unknown, code?: ErrorCode): error is UpgradeKitError {
  return error instanceof UpgradeKitError && (code === undefined || error.code === code);
}
