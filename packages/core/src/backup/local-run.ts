// LocalHost's tools: spawned with argument vectors, passwords in their environment only, and
// found on PATH the way a shell would.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { HostRunResult, RunOptions } from './host.js';

// A tool's output is for error messages: its tail is what says why it failed.
const KEEP = 64 * 1024;

function keepTail(buffer: string, chunk: string): string {
  const joined = buffer + chunk;
  return joined.length > KEEP ? joined.slice(joined.length - KEEP) : joined;
}

/** Runs `argv` on this machine; a missing tool is exit code 127, as a shell says it. */
export function runLocal(argv: readonly string[], options: RunOptions = {}): Promise<HostRunResult> {
  return new Promise((resolve, reject) => {
    options.signal?.throwIfAborted();
    // The file itself is the tool's stdin, as `tool < file` would do: the kernel feeds it, not
    // this event loop, which may be busy extracting an archive at the same time. (A tool orphaned
    // by a crash reads on; the restore that continues stops it first — see loadDump.)
    let input: number | undefined;
    try {
      if (options.stdinFile) input = openSync(options.stdinFile, 'r');
    } catch (error) {
      reject(error);
      return;
    }
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { ...process.env, ...options.env },
      stdio: [input ?? 'ignore', 'pipe', 'pipe'],
    });
    if (input !== undefined) closeSync(input);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      stdout = keepTail(stdout, c);
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      stderr = keepTail(stderr, c);
    });
    const onAbort = () => child.kill('SIGTERM');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (error: NodeJS.ErrnoException) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (error.code === 'ENOENT') resolve({ code: 127, stdout, stderr: `${argv[0]}: command not found` });
      else reject(error);
    });
    child.once('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (options.signal?.aborted) return reject(options.signal.reason);
      resolve({ code: code ?? (signal ? 128 : null), stdout, stderr });
    });
  });
}

/** The first of `names` that exists: a path as given, a bare name on PATH. */
export function findOnPath(names: readonly string[]): string | undefined {
  for (const name of names) {
    if (name.includes('/')) {
      if (existsSync(name)) return name;
      continue;
    }
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (dir && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}
