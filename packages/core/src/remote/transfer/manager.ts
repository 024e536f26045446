import { existsSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { ErrorCodes, UpgradeKitError } from '../../errors/index.js';
import { EventBus } from '../../events/index.js';
import { nullSink } from '../../events/internal.js';
import type { SshSessionOptions } from '../session.js';
import type { UploadContext } from './context.js';
import { downloadFromHost } from './download.js';
import { LocalHashes } from './local.js';
import {
  checkHosts,
  type ManagerSettings,
  parseManagerOptions,
  type TransferManagerOptions,
} from './options.js';
import { checkRemotePath, planFiles } from './paths.js';
import type { DownloadResult, UploadResult } from './results.js';
import { findScp } from './scp.js';
import { uploadToHost } from './upload.js';

/**
 * Distributes files and directories to hosts and fetches files back (seed 004 §4.1):
 *
 * - **skip**: a file whose remote sha256 equals the local one is not sent (the remote hash — OpenSSL or `sha256sum` —
 *   runs while the local file is hashed — once, for every host);
 * - **atomic**: bytes go to `<path>.upgradekit-part`, its sha256 is verified, then it is renamed;
 * - **method**: system scp (BatchMode, ConnectTimeout, the session's known_hosts) for large files,
 *   SFTP on the open session for small ones and as the fallback, by seed 004 §4.1.4's error classes;
 * - **resume**: an interrupted upload continues over SFTP from the verified prefix of the partial file;
 * - **progress** events per file and host (bytes, rate, percent, ETA);
 * - **many hosts** with bounded concurrency, one result per host — nothing throws half-way.
 *
 * @example
 * const transfers = new TransferManager({ events, concurrency: 8 });
 * const results = await transfers.upload('dist/app-2.16.7.tar.gz', '/opt/pkg/app-2.16.7.tar.gz', hosts);
 * const failed = results.filter((r) => r.status === 'failed');
 */
export class TransferManager {
  readonly #settings: ManagerSettings;

  constructor(options: TransferManagerOptions = {}) {
    this.#settings = Object.freeze(parseManagerOptions(options));
  }

  #context(): UploadContext {
    const events = this.#settings.events ?? nullSink;
    return {
      settings: this.#settings,
      events,
      scp: this.#settings.method === 'sftp' ? undefined : findScp(this.#settings.scpPath),
      hashes: new LocalHashes(),
    };
  }

  /**
   * Uploads a file, or a directory's regular files (to the same relative paths under
   * `remotePath`), to every host. Bad input (a missing local path, a relative remote path, a
   * symbolic link in the tree, a host without user) throws `UPGRADEKIT_BAD_INPUT` before anything
   * connects; everything after that is reported per host.
   *
   * @example
   * const [result] = await new TransferManager().upload('release/', '/opt/upgrade/2.16.7', [host]);
   * if (result.status === 'failed') console.error(result.error?.message);
   */
  async upload(
    localPath: string,
    remotePath: string,
    hosts: readonly SshSessionOptions[],
  ): Promise<UploadResult[]> {
    if (typeof localPath !== 'string' || localPath.length === 0)
      throw new UpgradeKitError(ErrorCodes.BAD_INPUT, 'upload: `localPath` must be a file or directory path');
    const remote = checkRemotePath('upload', remotePath);
    const targets = checkHosts('upload', hosts);
    const { entries } = planFiles('upload', localPath, remote);
    const context = this.#context();
    this.#registerSecrets(targets);
    for (const entry of entries) void context.hashes.sha256(entry); // start hashing while hosts connect
    const results: UploadResult[] = new Array(targets.length);
    let next = 0;
    const worker = async () => {
      while (next < targets.length) {
        const index = next++;
        results[index] = await uploadToHost(context, entries, targets[index] as SshSessionOptions);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#settings.concurrency, targets.length) }, worker));
    return results;
  }

  /**
   * Downloads one remote file to `localPath` (verified, atomic, skipped when already equal).
   *
   * @example
   * const result = await new TransferManager().download('/var/log/app/upgrade.log', 'logs/host-a.log', host);
   */
  async download(remotePath: string, localPath: string, host: SshSessionOptions): Promise<DownloadResult> {
    const remote = checkRemotePath('download', remotePath);
    if (typeof localPath !== 'string' || localPath.length === 0)
      throw new UpgradeKitError(ErrorCodes.BAD_INPUT, 'download: `localPath` must be a file path');
    const [target] = checkHosts('download', host, true);
    this.#registerSecrets([target as SshSessionOptions]);
    const local = isAbsolute(localPath) ? localPath : resolve(localPath);
    if (existsSync(local) && !statSync(local).isFile())
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `download: ${localPath} exists and is not a regular file; give the file path to write, e.g. ${join(localPath, basename(remote))}`,
        { context: { localPath } },
      );
    return downloadFromHost(this.#context(), remote, local, target as SshSessionOptions);
  }

  #registerSecrets(hosts: readonly SshSessionOptions[]): void {
    const events = this.#settings.events;
    if (!(events instanceof EventBus)) return;
    for (const host of hosts)
      for (const secret of [host.password, host.passphrase]) if (secret) events.addSecret(secret);
  }
}
