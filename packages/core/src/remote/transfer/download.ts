import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCodes, isUpgradeKitError, UpgradeKitError } from '../../errors/index.js';
import { describeError } from '../../errors/internal.js';
import { formatBytes } from '../../events/internal.js';
import type { SshSession, SshSessionOptions } from '../session.js';
import { runAttempts, type TransferMethod } from './attempts.js';
import { VerifyMismatch } from './classify.js';
import { connectError, transferSession } from './connect.js';
import type { UploadContext } from './context.js';
import { remoteSha256, sha256File } from './hash.js';
import { PART_SUFFIX } from './paths.js';
import { TransferProgress } from './progress.js';
import { remoteSize } from './remote-ops.js';
import type { DownloadResult } from './results.js';
import { hasGlob, runScp, scpAgent, scpArgsFor, scpRemote, scpUnusableReason } from './scp.js';
import { sftpDownload } from './sftp.js';

/**
 * Downloads one remote file: skip when the local file already has its sha256, otherwise fetch to
 * `<local>.upgradekit-part`, verify, rename. scp first, SFTP (`fastGet`) as the fallback.
 */
export async function downloadFromHost(
  context: UploadContext,
  remotePath: string,
  localPath: string,
  target: SshSessionOptions,
): Promise<DownloadResult> {
  const started = performance.now();
  const { settings, events } = context;
  const host = target.host;
  const step = `download ${remotePath}`;
  let size = 0;
  const base = { host, remotePath, localPath };
  const finish = (rest: Partial<DownloadResult> & Pick<DownloadResult, 'status'>): DownloadResult => ({
    ...base,
    size,
    durationMs: performance.now() - started,
    ...rest,
  });
  let session: SshSession;
  try {
    session = await transferSession(context, target);
  } catch (error) {
    return finish({ status: 'failed', error: connectError(target, error) });
  }
  const temporary = `${localPath}${PART_SUFFIX}`;
  try {
    const [remote, remoteBytes, local] = await Promise.all([
      remoteSha256(session, remotePath),
      remoteSize(session, remotePath),
      existsSync(localPath) && statSync(localPath).isFile() ? sha256File(localPath) : undefined,
    ]);
    if (!remote || remoteBytes === undefined) {
      throw new UpgradeKitError(
        ErrorCodes.TRANSFER,
        `${step} from ${host}: there is no readable file at ${remotePath}`,
        {
          context: { host, remotePath, reason: 'not-found' },
        },
      );
    }
    size = remoteBytes;
    if (local === remote) {
      events.emit({
        type: 'log',
        level: 'info',
        host,
        step,
        message: `${localPath} already has the content of ${host}:${remotePath} (sha256); skipped`,
      });
      return finish({ status: 'skipped', sha256: remote });
    }
    mkdirSync(dirname(localPath), { recursive: true });
    const progress = new TransferProgress(events, remotePath, host, size);
    let method: TransferMethod = 'scp';
    let why: string | undefined;
    if (settings.method === 'sftp') method = 'sftp';
    else if (!context.scp) why = `no scp binary (${settings.scpPath} is not on PATH)`;
    else if (hasGlob(remotePath))
      why = 'the remote path has glob characters, which OpenSSH ≥ 9 scp would expand on the host';
    else why = scpUnusableReason(target as Parameters<typeof scpUnusableReason>[0]);
    if (why) {
      if (settings.method === 'scp')
        throw new UpgradeKitError(
          ErrorCodes.BAD_INPUT,
          `${step} from ${host}: method 'scp' was requested, but ${why}`,
          { context: { host } },
        );
      method = 'sftp';
      events.emit({
        type: 'log',
        level: 'warn',
        host,
        step,
        message: `${step} from ${host}: using SFTP — ${why}`,
      });
    }
    const outcome = await runAttempts({
      events,
      host,
      step,
      attempts: settings.attempts,
      retryDelayMs: settings.retryDelayMs,
      ...(settings.signal ? { signal: settings.signal } : {}),
      method,
      ...(why ? { why } : {}),
      mayFallBack: settings.method === 'auto',
      once: async (m) => {
        rmSync(temporary, { force: true });
        if (m === 'sftp') {
          const sftp = await session.sftp();
          try {
            await sftpDownload(sftp, remotePath, temporary, (done) => progress.update(done));
          } finally {
            sftp.end();
          }
        } else {
          const args = scpArgsFor(
            target,
            settings.connectTimeoutMs,
            scpRemote(target, remotePath),
            temporary,
          );
          const poll = setInterval(() => {
            if (existsSync(temporary)) progress.update(statSync(temporary).size);
          }, 1000);
          try {
            const agent = scpAgent(target);
            await runScp(context.scp as string, args, {
              ...(settings.signal ? { signal: settings.signal } : {}),
              ...(agent ? { agent } : {}),
            });
          } finally {
            clearInterval(poll);
          }
        }
        progress.update(size);
        const arrived = await sha256File(temporary);
        if (arrived !== remote) {
          rmSync(temporary, { force: true });
          throw new VerifyMismatch(`the file arrived with sha256 ${arrived}, expected ${remote}; removed it`);
        }
      },
    });
    renameSync(temporary, localPath);
    events.emit({
      type: 'log',
      level: 'info',
      host,
      step,
      message: `${step} from ${host} done (${formatBytes(size)}) by ${outcome.method}; sha256 verified`,
    });
    return finish({
      status: 'downloaded',
      sha256: remote,
      method: outcome.method,
      ...(outcome.fallback ? { fallback: outcome.fallback } : {}),
    });
  } catch (error) {
    rmSync(temporary, { force: true });
    const wrapped = isUpgradeKitError(error)
      ? error
      : new UpgradeKitError(ErrorCodes.TRANSFER, `${step} from ${host}: ${describeError(error).message}`, {
          cause: error,
          context: { host },
        });
    events.emit({ type: 'log', level: 'error', host, step, message: wrapped.message });
    return finish({ status: 'failed', error: wrapped });
  } finally {
    await session.close();
  }
}
