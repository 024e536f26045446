import { z } from 'zod';
import { anObject, checkArguments } from '../options/index.js';
import type { CommandRunner } from './runner.js';

/** A process listening on a TCP port; `pid` absent when this user may not see whose socket it is. */
export interface PortListener {
  readonly pid?: number;
  /** Its command line, cut to 200 characters. */
  readonly command?: string;
}

// From the kernel's own tables rather than `ss` or `lsof`, which a minimal host may lack: the
// listening sockets (state 0A) on the port in /proc/net/tcp and tcp6, then the processes holding
// each socket's inode among their file descriptors. Only processes this user may inspect show a
// pid (all of them for root). Prints `listen <pid|-> <command…>` per holder, or `none`.
//   $1 port
const LISTENERS = `port=$1
hex=$(printf '%04X' "$port")
inodes=$(awk -v p="$hex" 'FNR > 1 && $4 == "0A" { n = split($2, a, ":"); if (a[n] == p) print $10 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u)
[ -n "$inodes" ] || { echo none; exit 0; }
for inode in $inodes; do
  pids=$(find /proc/[0-9]*/fd -lname "socket:\\[$inode\\]" 2>/dev/null | cut -d/ -f3 | sort -un)
  [ -n "$pids" ] || { echo "listen -"; continue; }
  for pid in $pids; do
    echo "listen $pid $(tr '\\000' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-200)"
  done
done`;

/**
 * Who listens on a TCP port of the runner's host (Linux): the evidence an operator needs when a
 * service should have stopped and something still holds its port. `[]` when the port is free.
 * Never throws for what it cannot read; a host without /proc answers `[]`.
 *
 * @example
 * await portListeners(ssh, 8080) // [{ pid: 4242, command: 'java -jar app-2.16.6.jar' }]
 */
export async function portListeners(
  runner: CommandRunner,
  port: number,
  signal?: AbortSignal,
): Promise<PortListener[]> {
  checkArguments(
    'portListeners',
    {
      runner: anObject('a command runner (localRunner() or an SshSession)'),
      port: z.number().int().positive('must be a port'),
    },
    { runner, port },
  );
  const result = await runner.exec(['sh', '-c', LISTENERS, 'listeners', String(port)], {
    timeoutMs: 10_000,
    ...(signal ? { signal } : {}),
  });
  const seen = new Set<string>();
  const listeners: PortListener[] = [];
  for (const line of result.stdout.split('\n')) {
    const m = /^listen (\d+|-)(?: (.*))?$/.exec(line.trimEnd());
    if (!m) continue;
    const key = m[1] as string;
    if (seen.has(key)) continue; // the same process on the IPv4 and the IPv6 socket
    seen.add(key);
    const command = m[2]?.trim();
    listeners.push({
      ...(m[1] === '-' ? {} : { pid: Number(m[1]) }),
      ...(command ? { command } : {}),
    });
  }
  return listeners;
}

/** `pid 4242 (java -jar app.jar)`, `pid 4242, pid 4243 (…)`, or a process this user cannot see. */
export function describeListeners(listeners: readonly PortListener[]): string {
  return listeners
    .map((l) =>
      l.pid === undefined
        ? 'a process this user cannot see (run as its owner or root to know which)'
        : `pid ${l.pid}${l.command ? ` (${l.command})` : ''}`,
    )
    .join(', ');
}
