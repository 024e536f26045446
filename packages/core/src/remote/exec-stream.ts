// One command on an open connection: wrapped so the remote shell reports its pid first (an abort
// then kills exactly that process), output collected with its tail kept, streamed as it arrives.
import type { Client, ClientChannel } from 'ssh2';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import { remoteCommand } from './quote.js';
import type { ExecOptions, ExecResult } from './session-options.js';

const PID_PREFIX = 'UPGRADEKIT_PID ';
const WRAPPER = `printf '${PID_PREFIX}%d\\n' $$ >&2; exec "$@"`;

/** Runs `argv` on `client`; on abort, TERMs the channel and hands the remote pid to `kill`. */
export function execOnClient(
  client: Client,
  host: string,
  argv: readonly string[],
  options: ExecOptions,
  signal: AbortSignal | undefined,
  kill: (pid: string) => void,
): Promise<ExecResult> {
  const command = `sh -c ${remoteCommand([WRAPPER])} sh ${remoteCommand(argv)}`;
  const max = options.maxBuffer ?? 1 << 20;
  return new Promise<ExecResult>((resolve, reject) => {
    client.exec(command, (error: Error | undefined, stream: ClientChannel) => {
      if (error)
        return reject(
          new UpgradeKitError(ErrorCodes.SSH, `cannot run ${argv[0]} on ${host}: ${error.message}`, {
            cause: error,
          }),
        );
      let stdout = Buffer.alloc(0);
      let stderr = Buffer.alloc(0);
      let pid: string | undefined;
      let pending = '';
      const keep = (buffer: Buffer, chunk: Buffer) => {
        const joined = Buffer.concat([buffer, chunk]);
        return joined.length > max ? joined.subarray(joined.length - max) : joined;
      };
      stream.on('data', (chunk: Buffer) => {
        stdout = keep(stdout, chunk);
        options.onStdout?.(chunk);
      });
      stream.stderr.on('data', (chunk: Buffer) => {
        if (pid === undefined) {
          // The first stderr line is the wrapper's pid report; what follows is the command's.
          pending += chunk.toString();
          const newline = pending.indexOf('\n');
          if (newline === -1) return;
          const first = pending.slice(0, newline);
          pid = first.startsWith(PID_PREFIX) ? first.slice(PID_PREFIX.length) : '';
          const rest = Buffer.from(pending.slice(newline + 1));
          if (rest.length) {
            stderr = keep(stderr, rest);
            options.onStderr?.(rest);
          }
          return;
        }
        stderr = keep(stderr, chunk);
        options.onStderr?.(chunk);
      });
      const onAbort = () => {
        stream.signal('TERM');
        if (pid) kill(pid);
        stream.close();
        reject(
          new UpgradeKitError(
            ErrorCodes.ABORTED,
            `${argv[0]} on ${host} was stopped: ${describeError(signal?.reason).message}`,
            { cause: signal?.reason },
          ),
        );
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      stream.on('close', (code: number | null, exitSignal?: string) => {
        signal?.removeEventListener('abort', onAbort);
        resolve({
          code: code ?? null,
          ...(exitSignal ? { signal: exitSignal } : {}),
          stdout: stdout.toString(),
          stderr: stderr.toString(),
        });
      });
    });
  });
}
