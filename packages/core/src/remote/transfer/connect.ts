import { ErrorCodes, isUpgradeKitError, UpgradeKitError } from '../../errors/index.js';
import { describeError } from '../../errors/internal.js';
import { sshPort } from '../roles.js';
import { SshSession, type SshSessionOptions } from '../session.js';
import { ADVICE, classifyTransfer } from './classify.js';
import type { UploadContext } from './context.js';

/** The transfer-role SSH session to a host (heartbeat 30 s / 120 s, reconnects by seed 004 §4.6.1). */
export function transferSession(context: UploadContext, target: SshSessionOptions): Promise<SshSession> {
  return SshSession.connect({ role: 'transfer', ...target, events: context.events });
}

/** A connection failure as an error with the seed's reason and what to do. */
export function connectError(target: SshSessionOptions, error: unknown): UpgradeKitError {
  const hostKey = isUpgradeKitError(error, ErrorCodes.HOST_KEY);
  const reason = hostKey
    ? 'host-key'
    : (error as UpgradeKitError | undefined)?.context?.reason === 'auth'
      ? 'auth'
      : classifyTransfer(error).reason;
  const message = describeError(error).message;
  const advice = ADVICE[reason];
  return new UpgradeKitError(
    hostKey ? ErrorCodes.HOST_KEY : ErrorCodes.TRANSFER,
    `${message}${advice ? ` — ${advice}` : ''}`,
    { cause: error, context: { host: target.host, port: sshPort(target), reason } },
  );
}
