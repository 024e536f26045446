import { ErrorCodes, isUpgradeKitError, UpgradeKitError } from '../../errors/index.js';
import { describeError } from '../../errors/internal.js';
import { sshPort } from '../roles.js';
import type { SshSession, SshSessionOptions } from '../session.js';
import { ADVICE, classifyTransfer } from './classify.js';
import { connectError, transferSession } from './connect.js';
import type { UploadContext } from './context.js';
import { HostUpload } from './host-upload.js';
import type { FileEntry } from './paths.js';
import type { FileResult, UploadResult } from './results.js';

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
      port: sshPort(target),
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
