import { spawn } from 'node:child_process';

/** What {@link spawnAsync} saw, in spawnSync's shape. */
export interface Spawned {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * spawnSync's contract without blocking the test worker: a CLI run of a minute in spawnSync
 * keeps the worker from answering vitest's own RPC, whose fixed 60 s deadline then fails the
 * whole run ("Timeout calling onTaskUpdate") although every test passed. `timeout` kills the
 * child with SIGTERM, as spawnSync's does.
 */
export function spawnAsync(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {},
): Promise<Spawned> {
  const child = spawn(command, args, {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.env ? { env: options.env } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.timeout ? { timeout: options.timeout } : {}),
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status, signal) =>
      resolve({
        status,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
  });
}
