import type { SFTPWrapper } from 'ssh2';
import type { SshSession, SshSessionOptions } from '../session.js';
import type { UploadContext } from './context.js';
import type { FileEntry } from './paths.js';
import type { TransferProgress } from './progress.js';
import { remoteSize } from './remote-ops.js';
import { runScp, scpAgent, scpArgsFor, scpRemote } from './scp.js';
import { sftpSize } from './sftp.js';

/** What an scp upload needs from its host's upload. */
export interface ScpHost {
  readonly context: UploadContext;
  readonly target: SshSessionOptions;
  readonly session: SshSession;
  /** The host's shared SFTP channel, used to watch the file grow. */
  readonly channel: () => Promise<SFTPWrapper>;
}

/** scp to the temporary name; progress by polling its size (scp shows none without a terminal). */
export async function sendByScp(
  host: ScpHost,
  entry: FileEntry,
  temporary: string,
  progress: TransferProgress,
  sent: (bytes: number) => void,
): Promise<void> {
  const target = host.target;
  const args = scpArgsFor(
    target,
    host.context.settings.connectTimeoutMs,
    entry.local,
    scpRemote(target, temporary),
  );
  progress.update(0);
  let seen = 0;
  // Polled over the SFTP channel: a stat there costs the host nothing, a command forks a shell.
  const poll = setInterval(() => {
    void host
      .channel()
      .then((sftp) => sftpSize(sftp, temporary))
      .then(
        (size) => {
          if (size !== undefined && size >= seen && size <= entry.size) {
            seen = size;
            progress.update(size);
          }
        },
        () => {},
      );
  }, 1000);
  const agent = scpAgent(target);
  try {
    await runScp(host.context.scp as string, args, {
      ...(host.context.settings.signal ? { signal: host.context.settings.signal } : {}),
      ...(agent ? { agent } : {}),
    });
    seen = entry.size;
    progress.update(entry.size);
  } finally {
    clearInterval(poll);
    // What reached the host this attempt: all of it, or what the partial file holds after a cut.
    if (seen < entry.size) seen = (await remoteSize(host.session, temporary).catch(() => undefined)) ?? seen;
    sent(seen);
  }
}
