import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { delimiter, join, posix } from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import { describeError, ErrorCodes, isUpgradeKitError, UpgradeKitError } from '../errors/index.js';
import { nullSink } from '../events/bus.js';
import { ProgressTracker } from '../events/progress.js';
import type { EventSink } from '../events/types.js';
import type { Classification } from '../resilience/classify.js';
import { retry } from '../resilience/index.js';
import { checkHostKey, type HostKeyPolicy } from './known-hosts.js';
import { SshSession, type SshSessionOptions } from './session.js';

export type TransferMethod = 'scp' | 'sftp';

export interface TransferManagerOptions {
  /** `auto` (default): system scp when it is there and the host has a key file; otherwise SFTP. */
  readonly method?: 'auto' | TransferMethod;
  /** The scp binary. Default: `scp` from PATH. */
  readonly scpPath?: string;
  /** Hosts served at once. Default 4. */
  readonly concurrency?: number;
  /** Attempts per method for retryable failures (seed 004 §4.1.4: 3). */
  readonly attempts?: number;
  readonly retryDelayMs?: number;
  readonly events?: EventSink;
  readonly signal?: AbortSignal;
}

export interface UploadResult {
  readonly host: string;
  readonly status: 'uploaded' | 'skipped' | 'failed';
  readonly method?: TransferMethod;
  /** Why the other method was used, when it was. */
  readonly fallback?: string;
  readonly bytes: number;
  readonly durationMs: number;
  readonly sha256: string;
  readonly error?: UpgradeKitError;
}

/** sha256 of a local file, streamed. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** sha256 of a remote file via `sha256sum`; undefined when it does not exist. */
export async function remoteSha256(session: SshSession, path: string): Promise<string | undefined> {
  const result = await session.exec(['sha256sum', '--', path]);
  if (result.code !== 0) return undefined;
  return /^[0-9a-f]{64}/.exec(result.stdout)?.[0];
}

function findOnPath(binary: string): string | undefined {
  if (binary.includes('/')) return existsSync(binary) ? binary : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, binary);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Seed 004 §4.1.4: what a failed transfer means for retrying and falling back. */
function classifyTransfer(error: unknown): Classification & { fallback: boolean } {
  const text = String((error as Error)?.message ?? error);
  if (isUpgradeKitError(error, ErrorCodes.HOST_KEY) || /host key verification failed/i.test(text)) {
    return { decision: 'fail-now', reason: 'auth', fallback: false };
  }
  if (/permission denied \((publickey|password|keyboard)|authentication/i.test(text))
    return { decision: 'retry', reason: 'auth', fallback: false };
  if (/no space left|disk quota/i.test(text))
    return { decision: 'fail-now', reason: 'disk-full', fallback: false };
  if (/permission denied|read-only file system/i.test(text))
    return { decision: 'fail-now', reason: 'permission', fallback: false };
  return { decision: 'retry', reason: 'network', fallback: true };
}

/**
 * Distributes files to hosts: skips a host that already has the same bytes (sha256 compared while
 * the local file is hashed once), uploads to a temporary name, verifies the remote sha256, then
 * renames into place — a half-written file never sits at the final path. System scp first, SFTP
 * (ssh2-sftp-client `fastPut`) when scp is missing or keeps failing on the network; one result per host.
 *
 * @example
 * const results = await new TransferManager({ events }).upload('app-2.16.7.tar', '/opt/pkg/app.tar', hosts);
 */
export class TransferManager {
  readonly #options: TransferManagerOptions;
  readonly #events: EventSink;

  constructor(options: TransferManagerOptions = {}) {
    this.#options = options;
    this.#events = options.events ?? nullSink;
  }

  async upload(
    localFile: string,
    remotePath: string,
    hosts: readonly SshSessionOptions[],
  ): Promise<UploadResult[]> {
    if (!existsSync(localFile) || !statSync(localFile).isFile()) {
      throw new UpgradeKitError(ErrorCodes.BAD_INPUT, `upload: ${localFile} is not a readable file`, {
        context: { localFile },
      });
    }
    if (!posix.isAbsolute(remotePath)) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `upload: the remote path must be absolute (got ${JSON.stringify(remotePath)})`,
      );
    }
    const local = sha256File(localFile); // once, for every host
    const queue = hosts.map((host, index) => ({ host, index }));
    const results: UploadResult[] = new Array(hosts.length);
    const workers = Array.from(
      { length: Math.max(1, Math.min(this.#options.concurrency ?? 4, hosts.length)) },
      async () => {
        for (let item = queue.shift(); item; item = queue.shift()) {
          results[item.index] = await this.#uploadTo(localFile, remotePath, item.host, local);
        }
      },
    );
    await Promise.all(workers);
    return results;
  }

  async #uploadTo(
    localFile: string,
    remotePath: string,
    target: SshSessionOptions,
    localHash: Promise<string>,
  ): Promise<UploadResult> {
    const started = performance.now();
    const bytes = statSync(localFile).size;
    const base = { host: target.host, bytes };
    let session: SshSession | undefined;
    try {
      session = await SshSession.connect({ ...target, role: 'transfer', events: this.#events });
      const [sha256, remote] = await Promise.all([localHash, remoteSha256(session, remotePath)]);
      if (remote === sha256) {
        this.#log(
          'info',
          target.host,
          `${remotePath} on ${target.host} already has the same content (sha256 ${sha256.slice(0, 12)}…); skipped`,
        );
        return { ...base, status: 'skipped', sha256, durationMs: performance.now() - started };
      }
      const temporary = `${remotePath}.upgradekit-part`;
      await session.exec(['mkdir', '-p', '--', posix.dirname(remotePath)]);
      const { method, fallback } = await this.#send(localFile, temporary, target, session, bytes);
      const arrived = await remoteSha256(session, temporary);
      if (arrived !== sha256) {
        await session.exec(['rm', '-f', '--', temporary]);
        throw new UpgradeKitError(
          ErrorCodes.STEP_FAILED,
          `upload to ${target.host}: the file arrived with sha256 ${arrived ?? 'missing'}, expected ${sha256}; removed it`,
          {
            context: { host: target.host, remotePath },
          },
        );
      }
      const moved = await session.exec(['mv', '-f', '--', temporary, remotePath]);
      if (moved.code !== 0)
        throw new UpgradeKitError(
          ErrorCodes.STEP_FAILED,
          `upload to ${target.host}: cannot move into place: ${moved.stderr.trim()}`,
        );
      return {
        ...base,
        status: 'uploaded',
        method,
        ...(fallback ? { fallback } : {}),
        sha256,
        durationMs: performance.now() - started,
      };
    } catch (error) {
      const wrapped =
        error instanceof UpgradeKitError
          ? error
          : new UpgradeKitError(
              ErrorCodes.STEP_FAILED,
              `upload to ${target.host} failed: ${describeError(error).message}`,
              { cause: error },
            );
      this.#log('error', target.host, wrapped.message.split('\n')[0] ?? '');
      return {
        ...base,
        status: 'failed',
        sha256: await localHash.catch(() => ''),
        durationMs: performance.now() - started,
        error: wrapped,
      };
    } finally {
      await session?.close();
    }
  }

  #log(level: 'info' | 'warn' | 'error', host: string, message: string): void {
    this.#events.emit({ type: 'log', level, host, message });
  }

  async #send(
    localFile: string,
    remote: string,
    target: SshSessionOptions,
    session: SshSession,
    bytes: number,
  ): Promise<{ method: TransferMethod; fallback?: string }> {
    const wanted = this.#options.method ?? 'auto';
    const scp = findOnPath(this.#options.scpPath ?? 'scp');
    let fallback: string | undefined;
    if (wanted !== 'sftp') {
      if (!scp) fallback = `no scp binary (${this.#options.scpPath ?? 'scp'} not found)`;
      else if (!target.privateKeyPath) fallback = 'scp needs a key file (BatchMode); this host has none';
      else {
        try {
          await this.#attempts('scp', target.host, () =>
            this.#scp(scp, localFile, remote, target, session, bytes),
          );
          return { method: 'scp' };
        } catch (error) {
          const verdict = classifyTransfer(error);
          if (!verdict.fallback || wanted === 'scp') throw error;
          fallback = `scp kept failing (${verdict.reason}): ${describeError(error).message.split('\n')[0]}`;
        }
      }
      if (wanted === 'scp')
        throw new UpgradeKitError(
          ErrorCodes.BAD_INPUT,
          `upload to ${target.host}: method scp requested, but ${fallback}`,
        );
      this.#log('warn', target.host, `falling back to SFTP for ${target.host}: ${fallback}`);
    }
    await this.#attempts('sftp', target.host, () => this.#sftp(localFile, remote, target, bytes));
    return { method: 'sftp', ...(fallback ? { fallback } : {}) };
  }

  #attempts(method: TransferMethod, host: string, fn: () => Promise<void>): Promise<void> {
    return retry(fn, {
      attempts: this.#options.attempts ?? 3,
      minDelayMs: this.#options.retryDelayMs ?? 1000,
      step: `${method} upload`,
      host,
      events: this.#events,
      ...(this.#options.signal ? { signal: this.#options.signal } : {}),
      classify: (error) => classifyTransfer(error),
    }).catch((error: unknown) => {
      throw error instanceof UpgradeKitError && error.cause ? (error.cause as Error) : error;
    });
  }

  /** System scp, argv only, strict host keys, no prompts; progress by polling the remote size. */
  #scp(
    scp: string,
    localFile: string,
    remote: string,
    target: SshSessionOptions,
    session: SshSession,
    bytes: number,
  ): Promise<void> {
    const progress = new ProgressTracker(
      this.#events,
      posix.basename(remote.replace(/\.upgradekit-part$/, '')),
      { total: bytes, context: { host: target.host } },
    );
    const hostKeys = target.hostKeys ?? {};
    const args = [
      '-q',
      '-B',
      '-P',
      String(target.port ?? 22),
      '-i',
      target.privateKeyPath ?? '',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=10',
      '-o',
      `StrictHostKeyChecking=${hostKeys.policy === 'off' ? 'no' : hostKeys.policy === 'accept-new' ? 'accept-new' : 'yes'}`,
      ...(hostKeys.knownHostsPath ? ['-o', `UserKnownHostsFile=${hostKeys.knownHostsPath}`] : []),
      '--',
      localFile,
      // OpenSSH ≥ 9 scp speaks SFTP: the remote path is not handed to a shell, spaces and all.
      `${target.username}@${target.host.includes(':') ? `[${target.host}]` : target.host}:${remote}`,
    ];
    return new Promise((resolve, reject) => {
      const child = spawn(scp, args, {
        stdio: ['ignore', 'ignore', 'pipe'],
        ...(this.#options.signal ? { signal: this.#options.signal } : {}),
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const poll = setInterval(() => {
        void session.exec(['stat', '-c', '%s', '--', remote]).then(
          (r) => {
            const size = Number(r.stdout.trim());
            if (r.code === 0 && Number.isFinite(size)) progress.update(size);
          },
          () => {},
        );
      }, 1000);
      child.once('error', (error) => {
        clearInterval(poll);
        reject(error);
      });
      child.once('close', (code) => {
        clearInterval(poll);
        if (code === 0) {
          progress.update(bytes);
          resolve();
        } else reject(new Error(`scp exited with code ${code}: ${stderr.trim() || 'no message'}`));
      });
    });
  }

  /** SFTP through ssh2-sftp-client's fastPut (parallel reads and writes; never `put` with a stream). */
  async #sftp(localFile: string, remote: string, target: SshSessionOptions, bytes: number): Promise<void> {
    const client = new SftpClient();
    const progress = new ProgressTracker(
      this.#events,
      posix.basename(remote.replace(/\.upgradekit-part$/, '')),
      { total: bytes, context: { host: target.host } },
    );
    const hostKeys = target.hostKeys ?? {};
    let hostKeyError: UpgradeKitError | undefined;
    try {
      await client.connect({
        host: target.host,
        port: target.port ?? 22,
        username: target.username,
        ...(target.privateKeyPath
          ? { privateKey: (await import('node:fs')).readFileSync(target.privateKeyPath) }
          : {}),
        ...(target.privateKey ? { privateKey: target.privateKey } : {}),
        ...(target.password ? { password: target.password } : {}),
        ...(target.passphrase ? { passphrase: target.passphrase } : {}),
        retries: 0,
        hostVerifier: (key: Buffer) => {
          const check = checkHostKey(target.host, target.port ?? 22, key, {
            policy: (hostKeys.policy ?? 'strict') as HostKeyPolicy,
            ...(hostKeys.knownHostsPath ? { knownHostsPath: hostKeys.knownHostsPath } : {}),
          });
          hostKeyError = check.error;
          return check.accepted;
        },
      });
      await client.fastPut(localFile, remote, { step: (done: number) => progress.update(done) });
    } catch (error) {
      throw hostKeyError ?? error;
    } finally {
      await client.end().catch(() => {});
    }
  }
}
