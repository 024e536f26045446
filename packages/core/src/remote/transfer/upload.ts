import { posix } from 'node:path';

import type { SFTPWrapper } from 'ssh2';
import { describeError, ErrorCodes, isUpgradeKitError, UpgradeKitError } from '../../errors/index.js';
import { formatBytes, formatDuration } from '../../events/index.js';
import { retry } from '../../resilience/index.js';
import type { SshSession, SshSessionOptions } from '../session.js';
import { runAttempts, type TransferMethod } from './attempts.js';
import { ADVICE, classifyTransfer, VerifyMismatch } from './classify.js';
import { connectError, transferSession } from './connect.js';
import type { UploadContext } from './context.js';
import { remoteSha256s } from './hash.js';
import type { FileEntry } from './paths.js';
import { TransferProgress } from './progress.js';
import { prepareDirectories, verifyAndMove } from './remote-ops.js';
import type { FileResult, UploadResult } from './results.js';
import { verifiedPrefix } from './resume.js';
import { scpUnusableReason } from './scp.js';
import { sendByScp } from './send-scp.js';
import { sftpUpload } from './sftp.js';

export const PART_SUFFIX = '.upgradekit-part';

/** A verified prefix worth leaving scp for: at least a tenth of the file (or 64 MiB). */
function worthResuming(prefix: number, size: number): boolean {
  return prefix > 0 && prefix >= Math.min(size / 10, 64 << 20);
}

interface Pending {
  readonly entry: FileEntry;
  readonly sha256: Promise<string>;
}

/** One host's upload: its session, one shared SFTP channel, and what it reports per file. */
class HostUpload {
  readonly #context: UploadContext;
  readonly #target: SshSessionOptions;
  readonly #session: SshSession;
  #sftp: Promise<SFTPWrapper> | undefined;

  constructor(context: UploadContext, target: SshSessionOptions, session: SshSession) {
    this.#context = context;
    this.#target = target;
    this.#session = session;
  }

  get #host(): string {
    return this.#target.host;
  }

  #log(level: 'info' | 'warn' | 'error', step: string, message: string): void {
    this.#context.events.emit({ type: 'log', level, host: this.#host, step, message });
  }

  /** One SFTP channel for every file on this host; reopened after a failure. */
  #channel(): Promise<SFTPWrapper> {
    this.#sftp ??= this.#session.sftp();
    this.#sftp.catch(() => {
      this.#sftp = undefined;
    });
    return this.#sftp;
  }

  #dropChannel(): void {
    const channel = this.#sftp;
    this.#sftp = undefined;
    void channel?.then((c) => c.end()).catch(() => {});
  }

  close(): void {
    this.#dropChannel();
  }

  /**
   * A bookkeeping command (hash, mkdir, verify-and-rename — each safe to repeat), retried when the
   * connection drops under it: the session reconnects by itself, and losing a host over a blip
   * between two files would throw away a transfer that is already done.
   */
  #command<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const { attempts, retryDelayMs, signal } = this.#context.settings;
    return retry(fn, {
      attempts,
      minDelayMs: retryDelayMs,
      step: what,
      host: this.#host,
      events: this.#context.events,
      ...(signal ? { signal } : {}),
      classify: (error) => {
        const { reason } = classifyTransfer(error);
        if (reason === 'network') return { decision: 'retry', reason };
        return {
          decision: 'fail-now',
          reason: reason === 'permission' || reason === 'disk-full' || reason === 'auth' ? reason : 'unknown',
        };
      },
    }).catch((error: unknown) => {
      throw error instanceof UpgradeKitError && error.cause !== undefined ? error.cause : error;
    });
  }

  /**
   * Which files need sending: remote sha256s first (one command); a file missing on the host
   * is sent at once, without waiting for its local hash — that is needed only to verify.
   */
  async compare(entries: readonly FileEntry[]): Promise<{ skipped: FileResult[]; todo: Pending[] }> {
    const remote = await this.#command('compare sha256', () =>
      remoteSha256s(
        this.#session,
        entries.map((e) => e.remote),
        this.#context.settings.signal,
      ),
    );
    const skipped: FileResult[] = [];
    const todo: Pending[] = [];
    for (const [i, entry] of entries.entries()) {
      const sha256 = this.#context.hashes.sha256(entry);
      if (remote[i] !== undefined && (await sha256) === remote[i]) {
        skipped.push({
          path: entry.label,
          remotePath: entry.remote,
          status: 'skipped',
          size: entry.size,
          sha256: remote[i] as string,
          bytesSent: 0,
        });
      } else todo.push({ entry, sha256 });
    }
    return { skipped, todo };
  }

  /** Directories, then free space — a full disk fails here, before a byte is sent (seed: no retry). */
  async preflight(todo: readonly Pending[]): Promise<void> {
    const dirs = [...new Set(todo.map((t) => posix.dirname(t.entry.remote)))];
    const needed = todo.reduce((sum, t) => sum + t.entry.size, 0);
    const free = await this.#command('prepare directories', () => prepareDirectories(this.#session, dirs));
    if (free && free.bytes < needed) {
      throw new UpgradeKitError(
        ErrorCodes.TRANSFER,
        `upload to ${this.#host}: no space left — ${formatBytes(needed)} to write under ${dirs[0]}, ${formatBytes(free.bytes)} free on ${free.mount} — ${ADVICE['disk-full']}`,
        { context: { host: this.#host, reason: 'disk-full', needed, free: free.bytes, mount: free.mount } },
      );
    }
  }

  #choose(size: number): { method: TransferMethod; why?: string; quiet?: boolean } {
    const { method, scpPath, scpMinBytes } = this.#context.settings;
    if (method === 'sftp') return { method: 'sftp' };
    if (!this.#context.scp) return { method: 'sftp', why: `no scp binary (${scpPath} is not on PATH)` };
    const unusable = scpUnusableReason(this.#target as Parameters<typeof scpUnusableReason>[0]);
    if (unusable) return { method: 'sftp', why: unusable };
    if (method === 'auto' && size < scpMinBytes) return { method: 'sftp', quiet: true };
    return { method: 'scp' };
  }

  /**
   * Sends one file to its temporary name with the seed's retry and fallback rules. With
   * `verify`, each attempt also verifies and renames it (used after a failed batch verification).
   */
  async send(pending: Pending, verify: boolean): Promise<FileResult> {
    const { entry } = pending;
    const { settings } = this.#context;
    const host = this.#host;
    const step = `upload ${entry.label}`;
    const temporary = `${entry.remote}${PART_SUFFIX}`;
    const choice = this.#choose(entry.size);
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
    if (choice.why) this.#log('warn', step, `${step} on ${host}: using SFTP — ${choice.why}`);
    const progress = new TransferProgress(this.#context.events, entry.label, host, entry.size);
    const started = performance.now();
    let bytesSent = 0;
    let resumedFrom: number | undefined;

    const once = async (method: TransferMethod) => {
      if (method === 'sftp') {
        const start = await verifiedPrefix(this.#context, this.#session, entry, temporary);
        if (start > 0) {
          resumedFrom ??= start;
          this.#log(
            'info',
            step,
            `${step} on ${host}: resuming at ${formatBytes(start)} of ${formatBytes(entry.size)} (the verified prefix of the partial file)`,
          );
        }
        progress.update(start);
        try {
          await sftpUpload(await this.#channel(), entry.local, temporary, {
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
          this.#dropChannel();
          throw error;
        }
      } else {
        await sendByScp(
          {
            context: this.#context,
            target: this.#target,
            session: this.#session,
            channel: () => this.#channel(),
          },
          entry,
          temporary,
          progress,
          (n) => {
            bytesSent += n;
          },
        );
      }
      if (!verify) return;
      const [result] = await verifyAndMove(this.#session, [
        { temporary, final: entry.remote, sha256: await pending.sha256 },
      ]);
      if (result?.outcome === 'mismatch')
        throw new VerifyMismatch(
          `the file arrived with sha256 ${result.arrived ?? '(missing)'}, expected ${await localHash()}; removed it`,
        );
      if (result?.outcome === 'failed') throw new Error(result.message);
    };

    try {
      this.#log(
        'info',
        step,
        `${step} (${formatBytes(entry.size)}) to ${host}:${entry.remote} by ${choice.method}`,
      );
      const outcome = await runAttempts({
        events: this.#context.events,
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
          const start = await verifiedPrefix(this.#context, this.#session, entry, temporary);
          return worthResuming(start, entry.size)
            ? `scp was cut after ${formatBytes(start)} of ${formatBytes(entry.size)} had arrived intact; resuming from there over SFTP rather than re-sending the whole file by scp`
            : undefined;
        },
      });
      const seconds = Math.max((performance.now() - started) / 1000, 0.001);
      this.#log(
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
      this.#log('error', step, wrapped.message);
      return {
        ...failed(entry, await localHash(), bytesSent, wrapped),
        ...(resumedFrom ? { resumedFrom } : {}),
      };
    }
  }

  /** Verify and rename every sent file in one command; re-send (verifying each) the ones that differ. */
  async finish(sent: FileResult[], pending: readonly Pending[]): Promise<FileResult[]> {
    const finals = await this.#command('verify and rename', () =>
      verifyAndMove(
        this.#session,
        sent.map((f) => ({
          temporary: `${f.remotePath}${PART_SUFFIX}`,
          final: f.remotePath,
          sha256: f.sha256,
        })),
      ),
    );
    const out: FileResult[] = [];
    for (const [i, file] of sent.entries()) {
      const final = finals[i];
      if (final?.outcome === 'ok') {
        out.push(file);
        continue;
      }
      const step = `upload ${file.path}`;
      if (final?.outcome === 'failed') {
        const error = new UpgradeKitError(ErrorCodes.TRANSFER, `${step} on ${this.#host}: ${final.message}`, {
          context: { host: this.#host, reason: 'rename' },
        });
        this.#log('error', step, error.message);
        out.push({ ...file, status: 'failed', error });
        continue;
      }
      this.#context.events.emit({
        type: 'retry',
        host: this.#host,
        step,
        attempt: 1,
        attempts: 2,
        decision: 'retry',
        reason: 'verify',
        error: {
          message: `the file arrived with sha256 ${final?.arrived ?? '(missing)'}, expected ${file.sha256}`,
        },
      });
      const again = await this.send(pending[i] as Pending, true);
      out.push({ ...again, bytesSent: again.bytesSent + file.bytesSent });
    }
    return out;
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

/**
 * Uploads `entries` to one host: compare sha256 (skip equal files), create directories and check
 * free space, send each file to `<path>.upgradekit-part`, then verify every sha256 and rename into
 * place in one command. Never throws: the result says what happened to each file.
 */
export async function uploadToHost(
  context: UploadContext,
  entries: readonly FileEntry[],
  target: SshSessionOptions,
): Promise<UploadResult> {
  const started = performance.now();
  const bytes = entries.reduce((sum, e) => sum + e.size, 0);
  const order = new Map(entries.map((e, i) => [e.remote, i]));
  let files: FileResult[] = [];
  const finish = (status: UploadResult['status'], error?: UpgradeKitError): UploadResult => {
    if (error)
      context.events.emit({ type: 'log', level: 'error', host: target.host, message: error.message });
    files.sort((a, b) => (order.get(a.remotePath) ?? 0) - (order.get(b.remotePath) ?? 0));
    return {
      host: target.host,
      port: target.port ?? 22,
      status,
      files,
      bytes,
      bytesSent: files.reduce((sum, f) => sum + f.bytesSent, 0),
      durationMs: performance.now() - started,
      ...(error ? { error } : {}),
    };
  };
  let session: SshSession;
  try {
    session = await transferSession(context, target);
  } catch (error) {
    return finish('failed', connectError(target, error));
  }
  const upload = new HostUpload(context, target, session);
  try {
    const { skipped, todo } = await upload.compare(entries);
    files = [...skipped];
    if (todo.length === 0) {
      context.events.emit({
        type: 'log',
        level: 'info',
        host: target.host,
        message: `${entries.length === 1 ? entries[0]?.remote : `all ${entries.length} files`} on ${target.host}: same sha256 as the local ${entries.length === 1 ? 'file' : 'files'}; skipped`,
      });
      return finish('skipped');
    }
    await upload.preflight(todo);
    const sent: FileResult[] = [];
    for (const pending of todo) {
      const result = await upload.send(pending, false);
      if (result.status === 'failed') {
        files.push(...sent, result);
        return finish('failed', result.error);
      }
      sent.push(result);
    }
    const finished = await upload.finish(sent, todo);
    files.push(...finished);
    const failure = finished.find((f) => f.status === 'failed');
    if (!failure) {
      context.events.emit({
        type: 'log',
        level: 'info',
        host: target.host,
        message: `upload to ${target.host}: ${finished.length} file${finished.length === 1 ? '' : 's'} verified (sha256) and in place${skipped.length ? `, ${skipped.length} unchanged` : ''}`,
      });
    }
    return failure ? finish('failed', failure.error) : finish('uploaded');
  } catch (error) {
    const verdict = classifyTransfer(error);
    const advice = ADVICE[verdict.reason];
    return finish(
      'failed',
      isUpgradeKitError(error)
        ? error
        : new UpgradeKitError(
            ErrorCodes.TRANSFER,
            `upload to ${target.host} failed (${verdict.reason}): ${describeError(error).message}${advice ? ` — ${advice}` : ''}`,
            { cause: error, context: { host: target.host, reason: verdict.reason } },
          ),
    );
  } finally {
    upload.close();
    await session.close();
  }
}
