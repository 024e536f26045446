import type { ExecOptions, ExecResult, SshSession } from '../session.js';

/**
 * `session.exec` for the transfer's own bookkeeping commands. A channel that closes without an
 * exit status means the connection went away under the command: that is an error here (and a
 * `network` one, so it is retried), not a result to be parsed as if the command had finished.
 */
export async function run(
  session: SshSession,
  argv: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const result = await session.exec(argv, options);
  if (result.code === null && result.signal === undefined)
    throw new Error(
      `connection lost while running ${argv[0] === 'sh' ? 'a remote script' : argv[0]} on ${session.host}`,
    );
  return result;
}
