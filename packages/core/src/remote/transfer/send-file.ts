// Sending one file to one host: scp or SFTP by the seed's rules, resumed from a verified prefix,
// retried and falling back, and — after a failed batch verification — verified on its own.
import { ErrorCodes, isUpgradeKitError, UpgradeKitError } from '../../errors/index.js';
import { describeError } from '../../errors/internal.js';
import { formatBytes, formatDuration } from '../../events/internal.js';
import { runAttempts, type TransferMethod } from './attempts.js';
import { VerifyMismatch } from './classify.js';
import { type FileEntry, PART_SUFFIX } from './paths.js';
import { TransferProgress } from './progress.js';
import { verifyAndMove } from './remote-ops.js';
import type { FileResult } from './results.js';
import { verifiedPrefix } from './resume.js';
import { scpUnusableReason } from './scp.js';
import { type ScpHost, sendByScp } from './send-scp.js';
import { sftpUpload } from './sftp.js';

/** A file to send, with its local sha256 (still being computed, perhaps). */
export interface Pending {
  readonly entry: FileEntry;
  readonly sha256: Promise<string>;
}

/** What sending a file needs from its host's upload. */
export interface UploadHost extends ScpHost {
  /** Ends the shared SFTP channel after a failure on it: the next use opens another. */
  dropChannel(): void;
  log(level: 'info' | 'warn' | 'error', step: string, message: string): void;
}

/** A verified prefix worth leaving scp for: at least a tenth of the file (or 64 MiB). */
function worthResuming(prefix: number, size: number): boolean {
  return prefix > 0 && prefix >= Math.min(size / 10, 64 << 20);
}

function choose(upload: UploadHost, size: number): { method: TransferMethod; why?: string; quiet?: boolean } {
  const { method, scpPath, scpMinBytes } = upload.context.settings;
  if (method === 'sftp') return { method: 'sftp' };
  if (!upload.context.scp) return { method: 'sftp', why: `no scp binary (${scpPath} is not on PATH)` };
  const unusable = scpUnusableReason(upload.target as Parameters<typeof scpUnusableReason>[0]);
  if (unusable) return { method: 'sftp', why: unusable };
  if (method === 'auto' && size < scpMinBytes) return { method: 'sftp', quiet: true };
  return { method: 'scp' };
}

/**
 * Sends one file to its temporary name with the seed's retry and fallback rules. With
 * `verify`, each attempt also verifies and renames it (used after a failed batch verification).
 */
export async function sendFile(upload: UploadHost, pending: Pending, verify: boolean): Promise<FileResult> {
  const { entry } = pending;
  const { settings } = upload.context;
  const host = upload.target.host;
  const step = `upload ${entry.label}`;
  const temporary = `${entry.remote}${PART_SUFFIX}`;
  const choice = choose(upload, entry.size);
  // The local hash may still be running: it is needed to verify, not to start sending.
  const localHash = () => pending.sha256.catch(() => '');
  if (choice.why && settings.method === 'scp') {
    return failed(
      entry,
      await localHash(),
      0,
      new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `${step} on ${host}: method 'scp' was requested, but ${choice.why}`,
        {
          context: { host, reason: 'scp-missing' },
        },
      ),
    );
  }
  if (choice.why) upload.log('warn', step, `${step} on ${host}: using SFTP — ${choice.why}`);
  const progress = new TransferProgress(upload.context.events, entry.label, host, entry.size);
  const started = performance.now();
  let bytesSent = 0;
  let resumedFrom: number | undefined;

  const once = async (method: TransferMethod) => {
    if (method === 'sftp') {
      const start = await verifiedPrefix(upload.context, upload.session, entry, temporary);
      if (start > 0) {
        resumedFrom ??= start;
        upload.log(
          'info',
          step,
          `${step} on ${host}: resuming at ${formatBytes(start)} of ${formatBytes(entry.size)} (the verified prefix of the partial file)`,
        );
      }
      progress.update(start);
      try {
        await sftpUpload(await upload.channel(), entry.local, temporary, {
          start,
          size: entry.size,
          mode: entry.mode,
          mtimeMs: entry.mtimeMs,
          onBytes: (n) => {
            bytesSent += n;
            progress.add(n);
          },
          ...(settings.signal ? { signal: settings.signal } : {}),
        });
      } catch (error) {
        upload.dropChannel();
        throw error;
      }
    } else {
      await sendByScp(upload, entry, temporary, progress, (n) => {
        bytesSent += n;
      });
    }
    if (!verify) return;
    const [result] = await verifyAndMove(upload.session, [
      { temporary, final: entry.remote, sha256: await pending.sha256 },
    ]);
    if (result?.outcome === 'mismatch')
      throw new VerifyMismatch(
        `the file arrived with sha256 ${result.arrived ?? '(missing)'}, expected ${await localHash()}; removed it`,
      );
    if (result?.outcome === 'failed') throw new Error(result.message);
  };

  try {
    upload.log(
      'info',
      step,
      `${step} (${formatBytes(entry.size)}) to ${host}:${entry.remote} by ${choice.method}`,
    );
    const outcome = await runAttempts({
      events: upload.context.events,
      host,
      step,
      attempts: settings.attempts,
      retryDelayMs: settings.retryDelayMs,
      ...(settings.signal ? { signal: settings.signal } : {}),
      method: choice.method,
      ...(choice.why ? { why: choice.why } : {}),
      mayFallBack: settings.method === 'auto',
      once,
      switchBeforeRetry: async () => {
        const start = await verifiedPrefix(upload.context, upload.session, entry, temporary);
        return worthResuming(start, entry.size)
          ? `scp was cut after ${formatBytes(start)} of ${formatBytes(entry.size)} had arrived intact; resuming from there over SFTP rather than re-sending the whole file by scp`
          : undefined;
      },
    });
    const seconds = Math.max((performance.now() - started) / 1000, 0.001);
    upload.log(
      'info',
      step,
      `${step} to ${host}: sent in ${formatDuration(seconds * 1000)} at ${formatBytes(bytesSent / seconds)}/s by ${outcome.method}${resumedFrom ? `, resumed at ${formatBytes(resumedFrom)}` : ''}${verify ? '; sha256 verified' : ''}`,
    );
    return {
      path: entry.label,
      remotePath: entry.remote,
      status: 'uploaded',
      size: entry.size,
      sha256: await pending.sha256,
      method: outcome.method,
      ...(outcome.fallback && !choice.quiet ? { fallback: outcome.fallback } : {}),
      ...(resumedFrom ? { resumedFrom } : {}),
      bytesSent,
    };
  } catch (error) {
    const wrapped = isUpgradeKitError(error)
      ? error
      : new UpgradeKitError(ErrorCodes.TRANSFER, `${step} on ${host}: ${describeError(error).message}`, {
          cause: error,
          context: { host },
        });
    upload.log('error', step, wrapped.message);
    return {
      ...failed(entry, await localHash(), bytesSent, wrapped),
      ...(resumedFrom ? { resumedFrom } : {}),
    };
  }
}

function failed(entry: FileEntry, sha256: string, bytesSent: number, error: UpgradeKitError): FileResult {
  return {
    path: entry.label,
    remotePath: entry.remote,
    status: 'failed',
    size: entry.size,
    sha256,
    bytesSent,
    error,
  };
}
