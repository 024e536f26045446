import { spawn } from 'node:child_process';
import { z } from 'zod';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { ExecOptions, ExecResult } from '../remote/index.js';

/**
 * Where a command runs: this machine or a host over SSH. `SshSession` satisfies it as it is, so
 * every helper here works the same locally and remotely. Commands are argument vectors, never
 * shell strings.
 */
export interface CommandRunner {
  /** A name for messages and events (`local`, or the SSH host). */
  readonly host: string;
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
}

/**
 * Runs commands on this machine, with the same contract as `SshSession.exec`: a non-zero exit is a
 * result, not an error; abort or timeout kills the process (TERM, then KILL after 2 s).
 *
 * @example
 * const local = localRunner();
 * const { code } = await local.exec(['test', '-d', '/opt/app/releases']);
 */
export function localRunner(): CommandRunner {
  return Object.freeze({ host: 'local', exec: localExec });
}

function localExec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string')) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      'localRunner.exec: argv must be a non-empty array of strings',
    );
  }
  const max = options.maxBuffer ?? 1 << 20;
  return new Promise((resolve, reject) => {
    options.signal?.throwIfAborted();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = Buffer.alloc(0);
    let stderr = Buffer.alloc(0);
    const keep = (buffer: Buffer, chunk: Buffer) => {
      const joined = Buffer.concat([buffer, chunk]);
      return joined.length > max ? joined.subarray(joined.length - max) : joined;
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdout = keep(stdout, chunk);
      options.onStdout?.(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = keep(stderr, chunk);
      options.onStderr?.(chunk);
    });
    let stopped: UpgradeKitError | undefined;
    const stop = (error: UpgradeKitError) => {
      stopped = error;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    };
    const onAbort = () =>
      stop(
        new UpgradeKitError(ErrorCodes.ABORTED, `${argv[0]} was stopped`, { cause: options.signal?.reason }),
      );
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = options.timeoutMs
      ? setTimeout(
          () =>
            stop(
              new UpgradeKitError(
                ErrorCodes.TIMEOUT,
                `${argv[0]} did not finish within ${options.timeoutMs} ms`,
                {
                  context: { command: argv[0], timeoutMs: options.timeoutMs },
                },
              ),
            ),
          options.timeoutMs,
        )
      : undefined;
    child.once('error', (error) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
      reject(
        new UpgradeKitError(ErrorCodes.SERVICE, `cannot run ${argv[0]}: ${error.message}`, {
          cause: error,
          context: { command: argv[0] },
        }),
      );
    });
    child.once('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
      if (stopped) return reject(stopped);
      resolve({
        code,
        ...(signal ? { signal } : {}),
        stdout: stdout.toString(),
        stderr: stderr.toString(),
      });
    });
  });
}

/** Validates a runner at an API edge (zod custom check). */
export function isCommandRunner(value: unknown): value is CommandRunner {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as CommandRunner).exec === 'function' &&
    typeof (value as CommandRunner).host === 'string'
  );
}

/** The `runner` option of every service operation: one check, one message. */
export const runnerSchema = z.custom<CommandRunner>(
  isCommandRunner,
  'must be a CommandRunner (localRunner() or an SshSession)',
);
