import { ErrorCodes, UpgradeKitError } from '../errors/index.js';

/** Why an error happened, as far as retrying is concerned. */
export type FailureReason =
  | 'auth'
  | 'permission'
  | 'disk-full'
  | 'bad-input'
  | 'aborted'
  | 'in-doubt'
  | 'locked'
  | 'network'
  | 'timeout'
  | 'database-transient'
  | 'unknown';

export interface Classification {
  readonly decision: 'retry' | 'fail-now';
  readonly reason: FailureReason;
}

/** Decides, per failed attempt, whether another attempt can help. */
export type Classifier = (error: unknown) => Classification;

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTCONN',
  'ESOCKETTIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'PROTOCOL_CONNECTION_LOST', // mysql2
  'ER_CON_COUNT_ERROR', // too many connections: wait and try again
  'ECONNECTIONLOST',
]);
// Deadlocks, lock waits, serialization failures and a server shutting down clear up on their own.
const DB_TRANSIENT = new Set([
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  '40001',
  '40P01',
  '57P01',
  '57P03',
  '53300',
]);
const AUTH_CODES = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_NOT_SUPPORTED_AUTH_MODE',
  '28P01', // PostgreSQL invalid_password
  '28000', // PostgreSQL invalid_authorization_specification
  '516', // ClickHouse AUTHENTICATION_FAILED
  '192', // ClickHouse UNKNOWN_USER
]);
const PERMISSION_CODES = new Set(['EACCES', 'EPERM', 'EROFS', '42501']);
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'ER_RECORD_FILE_FULL', '53100', '243']);
const AUTH_MESSAGE =
  /all configured authentication methods failed|authentication failed|permission denied \((publickey|password)|access denied for user|password authentication failed/i;
const DISK_MESSAGE = /no space left on device|disk quota exceeded/i;
const PERMISSION_MESSAGE = /permission denied|operation not permitted|read-only file system/i;
const NETWORK_MESSAGE =
  /connection (reset|refused|closed|lost)|socket hang up|timed out while waiting for handshake|network is unreachable|broken pipe|connection timed out/i;

/** Every error in a cause chain (and inside AggregateErrors), outermost first. */
export function errorChain(error: unknown): unknown[] {
  const out: unknown[] = [];
  const queue = [error];
  while (queue.length > 0 && out.length < 20) {
    const current = queue.shift();
    if (current === undefined || current === null || out.includes(current)) continue;
    out.push(current);
    if (current instanceof AggregateError) queue.push(...current.errors);
    if (current instanceof Error && 'cause' in current) queue.push(current.cause);
  }
  return out;
}

export function errorCodes(error: unknown): string[] {
  return errorChain(error).flatMap((e) => {
    if (!e || typeof e !== 'object') return [];
    const { code, errno, sqlState } = e as { code?: unknown; errno?: unknown; sqlState?: unknown };
    return [code, sqlState, typeof errno === 'string' ? errno : undefined]
      .filter((c): c is string | number => typeof c === 'string' || typeof c === 'number')
      .map(String);
  });
}

function messages(error: unknown): string {
  return errorChain(error)
    .map((e) => (e instanceof Error ? e.message : String(e)))
    .join('\n');
}

/**
 * The default classifier. Authentication, permission, disk-full and bad-input failures fail at
 * once — retrying only locks accounts and wastes the maintenance window. Connection resets,
 * refusals, timeouts and transient database conflicts are retried. Anything else is retried too:
 * an unknown error is more often a blip than a bug, and the attempt count bounds the cost.
 *
 * @example
 * classifyError(Object.assign(new Error('x'), { code: 'ECONNRESET' })) // { decision: 'retry', reason: 'network' }
 */
export const classifyError: Classifier = (error) => {
  const codes = errorCodes(error);
  const has = (set: Set<string>) => codes.some((c) => set.has(c));
  const text = messages(error);

  if (error instanceof UpgradeKitError) {
    if (error.code === ErrorCodes.BAD_INPUT || error.code === ErrorCodes.BAD_VERSION) {
      return { decision: 'fail-now', reason: 'bad-input' };
    }
    if (error.code === ErrorCodes.ABORTED) return { decision: 'fail-now', reason: 'aborted' };
    // Someone must look before anything runs again.
    if (error.code === ErrorCodes.IN_DOUBT) return { decision: 'fail-now', reason: 'in-doubt' };
    if (error.code === ErrorCodes.LOCKED) return { decision: 'fail-now', reason: 'locked' };
    if (error.code === ErrorCodes.TIMEOUT) return { decision: 'retry', reason: 'timeout' };
  }
  if (error instanceof Error && error.name === 'AbortError')
    return { decision: 'fail-now', reason: 'aborted' };
  if (has(AUTH_CODES) || AUTH_MESSAGE.test(text)) return { decision: 'fail-now', reason: 'auth' };
  if (has(DISK_FULL_CODES) || DISK_MESSAGE.test(text)) return { decision: 'fail-now', reason: 'disk-full' };
  if (has(PERMISSION_CODES) || PERMISSION_MESSAGE.test(text))
    return { decision: 'fail-now', reason: 'permission' };
  if (has(NETWORK_CODES) || NETWORK_MESSAGE.test(text)) return { decision: 'retry', reason: 'network' };
  if (has(DB_TRANSIENT)) return { decision: 'retry', reason: 'database-transient' };
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) {
    // Programming errors repeat identically.
    return { decision: 'fail-now', reason: 'bad-input' };
  }
  return { decision: 'retry', reason: 'unknown' };
};
