import { open } from 'node:fs/promises';
import type { SFTPWrapper } from 'ssh2';

/** Bytes per SFTP write and writes in flight: ~4 MiB in flight keeps a LAN link full. */
const CHUNK = 128 * 1024;
const IN_FLIGHT = 32;

type Callback<T> = (error: Error | null | undefined, value: T) => void;

function call<T>(fn: (cb: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value))));
}

/**
 * Calls on an SFTP channel that fail once the channel is gone. ssh2 answers requests pending at
 * a connection loss ("No response from server"), but a request made a moment later is buffered
 * on the dead channel and never answered — with many writes in flight that is a hang.
 */
function guarded(sftp: SFTPWrapper): <T>(fn: (cb: Callback<T>) => void) => Promise<T> {
  let gone: Error | undefined;
  const waiting = new Set<(error: Error) => void>();
  const close = (error?: Error) => {
    gone ??= error ?? new Error('SFTP channel closed: the connection was lost');
    for (const reject of waiting) reject(gone);
    waiting.clear();
  };
  sftp.once('end', () => close());
  sftp.once('close', () => close());
  sftp.once('error', (error: Error) => close(error));
  return <T>(fn: (cb: Callback<T>) => void) =>
    new Promise<T>((resolve, reject) => {
      if (gone) return reject(gone);
      waiting.add(reject);
      fn((error, value) => {
        waiting.delete(reject);
        if (error) reject(error);
        else resolve(value);
      });
    });
}

export interface SftpUploadOptions {
  /** Continue from this byte: the verified prefix of a partial file. 0 = write a new file. */
  readonly start: number;
  readonly size: number;
  readonly mode: number;
  readonly mtimeMs: number;
  readonly onBytes: (bytes: number) => void;
  readonly signal?: AbortSignal;
}

/**
 * Writes `local[start, size)` to `remote` at the same offsets, with many writes in flight — the
 * same pattern as ssh2's fastPut, which cannot start at an offset. (`put` with a stream sends one
 * write at a time and measured ~100× slower on loopback.) Mode and mtime are set on the handle so
 * the file is complete before it is renamed into place.
 */
export async function sftpUpload(
  sftp: SFTPWrapper,
  local: string,
  remote: string,
  options: SftpUploadOptions,
): Promise<void> {
  const call = guarded(sftp);
  const file = await open(local, 'r');
  let handle: Buffer | undefined;
  try {
    // 'r+' keeps the verified prefix; 'w' truncates whatever was there.
    handle = await call<Buffer>((cb) =>
      sftp.open(remote, options.start > 0 ? 'r+' : 'w', { mode: options.mode }, cb),
    );
    const remoteHandle = handle;
    let next = options.start;
    let failed: unknown;
    const worker = async () => {
      const buffer = Buffer.allocUnsafe(CHUNK);
      while (failed === undefined && next < options.size) {
        options.signal?.throwIfAborted();
        const position = next;
        const length = Math.min(CHUNK, options.size - position);
        next += length;
        const { bytesRead } = await file.read(buffer, 0, length, position);
        if (bytesRead !== length)
          throw new Error(`${local} changed while it was being uploaded (short read)`);
        await call<void>((cb) => sftp.write(remoteHandle, buffer, 0, length, position, cb));
        options.onBytes(length);
      }
    };
    const workers = Array.from({ length: IN_FLIGHT }, () =>
      worker().catch((error: unknown) => {
        failed ??= error;
      }),
    );
    await Promise.all(workers);
    if (failed !== undefined) throw failed;
    await call<void>((cb) => sftp.fchmod(remoteHandle, options.mode, cb));
    const seconds = options.mtimeMs / 1000;
    await call<void>((cb) => sftp.futimes(remoteHandle, seconds, seconds, cb));
  } finally {
    await file.close();
    if (handle) await call<void>((cb) => sftp.close(handle as Buffer, cb)).catch(() => {});
  }
}

/** The size of a remote file, or undefined when there is none. */
export async function sftpSize(sftp: SFTPWrapper, remote: string): Promise<number | undefined> {
  try {
    const stats = await call<{ size: number; isFile(): boolean }>((cb) => sftp.stat(remote, cb));
    return stats.isFile() ? stats.size : undefined;
  } catch (error) {
    if ((error as { code?: unknown }).code === 2) return undefined; // SSH_FX_NO_SUCH_FILE
    throw error;
  }
}

/** ssh2's fastGet: parallel reads at offsets into a local file. */
export function sftpDownload(
  sftp: SFTPWrapper,
  remote: string,
  local: string,
  onDone: (done: number) => void,
): Promise<void> {
  return guarded(sftp)<void>((cb) =>
    sftp.fastGet(
      remote,
      local,
      { concurrency: 64, chunkSize: CHUNK, step: (done) => onDone(done) },
      (error) => cb(error, undefined),
    ),
  );
}
