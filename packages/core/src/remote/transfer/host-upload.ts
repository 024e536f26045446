// One host's upload: its session, one shared SFTP channel for every file, the bookkeeping commands
// (compare, prepare, verify and rename) retried over a dropped connection, and the results per file.
import { posix } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import { ErrorCodes, UpgradeKitError } from '../../errors/index.js';
import { formatBytes } from '../../events/internal.js';
import { retry } from '../../resilience/index.js';
import type { SshSession, SshSessionOptions } from '../session.js';
import { ADVICE, classifyTransfer } from './classify.js';
import type { UploadContext } from './context.js';
import { remoteSha256s } from './hash.js';
import { type FileEntry, PART_SUFFIX } from './paths.js';
import { prepareDirectories, verifyAndMove } from './remote-ops.js';
import type { FileResult } from './results.js';
import { type Pending, sendFile, type UploadHost } from './send-file.js';

/** One host's upload: its session, one shared SFTP channel, and what it reports per file. */
export class HostUpload implements UploadHost {
  readonly context: UploadContext;
  readonly target: SshSessionOptions;
  readonly session: SshSession;
  #sftp: Promise<SFTPWrapper> | undefined;

  constructor(context: UploadContext, target: SshSessionOptions, session: SshSession) {
    this.context = context;
    this.target = target;
    this.session = session;
  }

  get #host(): string {
    return this.target.host;
  }

  log(level: 'info' | 'warn' | 'error', step: string, message: string): void {
    this.context.events.emit({ type: 'log', level, host: this.#host, step, message });
  }

  /** One SFTP channel for every file on this host; reopened after a failure. */
  channel(): Promise<SFTPWrapper> {
    this.#sftp ??= this.session.sftp();
    this.#sftp.catch(() => {
      this.#sftp = undefined;
    });
    return this.#sftp;
  }

  dropChannel(): void {
    const channel = this.#sftp;
    this.#sftp = undefined;
    void channel?.then((c) => c.end()).catch(() => {});
  }

  close(): void {
    this.dropChannel();
  }

  /**
   * A bookkeeping command (hash, mkdir, verify-and-rename — each safe to repeat), retried when the
   * connection drops under it: the session reconnects by itself, and losing a host over a blip
   * between two files would throw away a transfer that is already done.
   */
  #command<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const { attempts, retryDelayMs, signal } = this.context.settings;
    return retry(fn, {
      attempts,
      minDelayMs: retryDelayMs,
      step: what,
      host: this.#host,
      events: this.context.events,
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
        this.session,
        entries.map((e) => e.remote),
        this.context.settings.signal,
      ),
    );
    const skipped: FileResult[] = [];
    const todo: Pending[] = [];
    for (const [i, entry] of entries.entries()) {
      const sha256 = this.context.hashes.sha256(entry);
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
    const free = await this.#command('prepare directories', () => prepareDirectories(this.session, dirs));
    if (free && free.bytes < needed) {
      throw new UpgradeKitError(
        ErrorCodes.TRANSFER,
        `upload to ${this.#host}: no space left — ${formatBytes(needed)} to write under ${dirs[0]}, ${formatBytes(free.bytes)} free on ${free.mount} — ${ADVICE['disk-full']}`,
        { context: { host: this.#host, reason: 'disk-full', needed, free: free.bytes, mount: free.mount } },
      );
    }
  }

  /** Sends one file (see sendFile); with `verify`, verified and renamed on its own. */
  send(pending: Pending, verify: boolean): Promise<FileResult> {
    return sendFile(this, pending, verify);
  }

  /** Verify and rename every sent file in one command; re-send (verifying each) the ones that differ. */
  async finish(sent: FileResult[], pending: readonly Pending[]): Promise<FileResult[]> {
    const finals = await this.#command('verify and rename', () =>
      verifyAndMove(
        this.session,
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
        this.log('error', step, error.message);
        out.push({ ...file, status: 'failed', error });
        continue;
      }
      this.context.events.emit({
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
