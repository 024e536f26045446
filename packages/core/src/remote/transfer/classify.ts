import { isUpgradeKitError } from '../../errors/index.js';
import { errorChain } from '../../resilience/internal.js';

/**
 * Why a transfer attempt failed, as far as retrying and falling back are concerned
 * (seed 004 §4.1.4, with the DESIGN's rule that authentication failures are not retried).
 */
export type TransferReason =
  | 'scp-missing'
  | 'scp-unusable'
  | 'auth'
  | 'host-key'
  | 'permission'
  | 'disk-full'
  | 'no-sftp-subsystem'
  | 'network'
  | 'verify'
  | 'aborted'
  | 'unknown';

export interface TransferVerdict {
  readonly reason: TransferReason;
  /** Another attempt with the same method can help. */
  readonly retry: boolean;
  /** Switching from scp to SFTP can help. */
  readonly fallback: boolean;
}

const VERDICTS: Readonly<Record<TransferReason, Omit<TransferVerdict, 'reason'>>> = {
  // No scp, or one that does not speak the SFTP protocol: SFTP at once, nothing to retry.
  'scp-missing': { retry: false, fallback: true },
  'scp-unusable': { retry: false, fallback: true },
  // The seed retries authentication 3 times; we do not: the same key fails the same way, and
  // repeated failures lock accounts. SFTP uses the same credentials, so no fallback either.
  auth: { retry: false, fallback: false },
  'host-key': { retry: false, fallback: false },
  permission: { retry: false, fallback: false },
  'disk-full': { retry: false, fallback: false },
  // OpenSSH ≥ 9 scp *is* an SFTP client: if the server has no SFTP subsystem, our SFTP fails too.
  'no-sftp-subsystem': { retry: false, fallback: false },
  network: { retry: true, fallback: true },
  verify: { retry: true, fallback: true },
  aborted: { retry: false, fallback: false },
  unknown: { retry: true, fallback: true },
};

/** What an operator should do about each reason; appended to the final error message. */
export const ADVICE: Readonly<Partial<Record<TransferReason, string>>> = {
  auth: 'check the user name and key (or password) configured for this host; not retried, so the account is not locked',
  'host-key': "the host's key is unknown or changed; verify it with the host's owner and update known_hosts",
  permission: 'the remote user cannot write there; fix the directory owner/mode or choose another path',
  'disk-full':
    'free space on the remote file system (or choose another path), then re-run; nothing is retried',
  'no-sftp-subsystem':
    "the server has no SFTP subsystem; OpenSSH ≥ 9 scp needs it as well, so enable 'Subsystem sftp …' in sshd_config",
  network: 'the connection kept failing; check the network path to the host, then re-run: the upload resumes',
  verify: 'the bytes that arrived differ from the local file; check the remote disk and the network path',
};

function messages(error: unknown): string {
  return errorChain(error)
    .map((e) => (e instanceof Error ? e.message : String(e)))
    .join('\n');
}

function sftpStatus(error: unknown): number | undefined {
  for (const e of errorChain(error)) {
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

/**
 * Classifies a failed scp run (its stderr is in the message) or SFTP operation.
 *
 * @example
 * classifyTransfer(new Error('scp exited with code 255: Permission denied (publickey).')).reason // 'auth'
 */
export function classifyTransfer(error: unknown): TransferVerdict {
  const verdict = (reason: TransferReason): TransferVerdict => ({ reason, ...VERDICTS[reason] });
  const text = messages(error);
  const codes = errorChain(error).map((e) => (e as { code?: unknown } | null)?.code);
  if (codes.includes('VERIFY_MISMATCH')) return verdict('verify');
  if (isUpgradeKitError(error, 'UPGRADEKIT_ABORTED') || (error as Error)?.name === 'AbortError')
    return verdict('aborted');
  if (
    isUpgradeKitError(error, 'UPGRADEKIT_HOST_KEY') ||
    /host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(text)
  )
    return verdict('host-key');
  if (codes.includes('ENOENT') && /spawn/i.test(text)) return verdict('scp-missing');
  if (/usage: scp|unknown option|illegal option|invalid option/i.test(text)) return verdict('scp-unusable');
  if (
    /permission denied \((publickey|password|keyboard)|all configured authentication methods failed|too many authentication failures/i.test(
      text,
    )
  )
    return verdict('auth');
  if (/no space left|disk quota|quota exceeded/i.test(text) || codes.includes('ENOSPC'))
    return verdict('disk-full');
  if (/subsystem request failed|unable to start subsystem|subsystem.*sftp/i.test(text))
    return verdict('no-sftp-subsystem');
  // SFTP status 3 is SSH_FX_PERMISSION_DENIED.
  if (
    sftpStatus(error) === 3 ||
    /permission denied|read-only file system|operation not permitted/i.test(text)
  )
    return verdict('permission');
  if (
    /connection (reset|refused|closed|lost|timed out)|lost connection|broken pipe|timed out|no response from server|not connected|socket hang up|kex_exchange_identification|closed by remote host|network is unreachable|dropped/i.test(
      text,
    ) ||
    codes.some(
      (c) =>
        typeof c === 'string' && /^E(CONNRESET|CONNREFUSED|PIPE|TIMEDOUT|HOSTUNREACH|NETUNREACH)$/.test(c),
    )
  )
    return verdict('network');
  return verdict('unknown');
}

/** The bytes that arrived do not hash to the local file's sha256. */
export class VerifyMismatch extends Error {
  override name = 'VerifyMismatch';
  readonly code = 'VERIFY_MISMATCH';
}
