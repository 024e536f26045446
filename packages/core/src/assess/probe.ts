import { readFile, stat, statfs } from 'node:fs/promises';
import { availableParallelism, cpus, freemem, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { describeError } from '../errors/internal.js';
import { anObject, checkArguments, validateOptions } from '../options/index.js';
import type { DiskFigures, HostResources } from './types.js';

/** Anything that runs an argument vector on a host: an `SshSession` fits. */
export interface RemoteExec {
  exec(
    argv: readonly string[],
    options?: { readonly signal?: AbortSignal; readonly timeoutMs?: number },
  ): Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>;
}

// One constant script, one round trip: user values (paths, the sample time) arrive as positional
// arguments and are only ever expanded inside double quotes, so nothing in them is interpreted.
// A path that does not exist yet is measured at its nearest existing parent — where it will be made.
const SCRIPT = [
  's=$1; shift',
  "echo '@@nproc'; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN",
  "echo '@@meminfo'; cat /proc/meminfo",
  "echo '@@stat'; head -n 1 /proc/stat",
  'sleep "$s"',
  "echo '@@stat'; head -n 1 /proc/stat",
  'for p in "$@"; do',
  '  q=$p; while [ ! -e "$q" ] && [ "$q" != / ] && [ "$q" != . ]; do q=$(dirname -- "$q"); done',
  '  echo \'@@df\'; printf \'%s\\n\' "$q"; df -Pk -- "$q" 2>&1',
  'done',
  "echo '@@end'",
].join('\n');

/** The argv of the remote probe; exported for the benchmark and for auditing. */
export function probeArgv(paths: readonly string[], sampleMs: number): string[] {
  return ['sh', '-c', SCRIPT, 'upgradekit-probe', (sampleMs / 1000).toFixed(3), ...paths];
}

/** `/proc/meminfo` → available and total bytes. */
export function parseMeminfo(text: string): { availableBytes?: number; totalBytes?: number } {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const total = kb('MemTotal');
  // Kernels before 3.14 have no MemAvailable: free + buffers + page cache is the old approximation.
  const available =
    kb('MemAvailable') ??
    (kb('MemFree') === undefined
      ? undefined
      : (kb('MemFree') ?? 0) + (kb('Buffers') ?? 0) + (kb('Cached') ?? 0));
  return {
    ...(available === undefined ? {} : { availableBytes: available }),
    ...(total === undefined ? {} : { totalBytes: total }),
  };
}

/** The aggregate `cpu` line of `/proc/stat` → idle (idle + iowait) and total jiffies. */
export function parseStatLine(line: string): { idle: number; total: number } | undefined {
  const fields = line.trim().split(/\s+/);
  if (fields[0] !== 'cpu') return undefined;
  // user nice system idle iowait irq softirq steal; guest time is already inside user.
  const n = fields.slice(1, 9).map(Number);
  if (n.length < 4 || n.some((x) => !Number.isFinite(x))) return undefined;
  return { idle: (n[3] ?? 0) + (n[4] ?? 0), total: n.reduce((a, b) => a + b, 0) };
}

/** Idle share between two samples, in percent. */
export function idlePercent(
  before: { idle: number; total: number },
  after: { idle: number; total: number },
): number | undefined {
  const total = after.total - before.total;
  if (total <= 0) return undefined;
  return Math.round((1000 * (after.idle - before.idle)) / total) / 10;
}

const DF_LINE = /^(.*?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)%\s+(.+)$/;

/** Parses the probe's output (see {@link probeArgv}). */
export function parseProbe(
  stdout: string,
  paths: readonly string[],
): Omit<HostResources, 'host' | 'local' | 'elapsedMs'> {
  const sections: { name: string; lines: string[] }[] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith('@@')) sections.push({ name: line.slice(2).trim(), lines: [] });
    else sections.at(-1)?.lines.push(line);
  }
  const first = (name: string) => sections.find((s) => s.name === name);
  const cpusText = first('nproc')?.lines.find((l) => l.trim() !== '');
  const mem = parseMeminfo(first('meminfo')?.lines.join('\n') ?? '');
  const stats = sections.filter((s) => s.name === 'stat').map((s) => parseStatLine(s.lines[0] ?? ''));
  const idle = stats[0] && stats[1] ? idlePercent(stats[0], stats[1]) : undefined;
  const disks: DiskFigures[] = sections
    .filter((s) => s.name === 'df')
    .map((s, i) => {
      const path = paths[i] ?? '?';
      const measured = s.lines[0] ?? path;
      const row = s.lines
        .slice(1)
        .map((l) => DF_LINE.exec(l.trim()))
        .find((m) => m && /^\d+$/.test(m[2] ?? ''));
      if (!row) {
        const error = s.lines.slice(1).join(' ').trim() || 'df printed nothing';
        return { path, measured, error };
      }
      return {
        path,
        measured,
        mount: row[6] ?? '',
        device: `${row[1]} on ${row[6]}`,
        totalBytes: Number(row[2]) * 1024,
        freeBytes: Number(row[4]) * 1024,
      };
    });
  return {
    ...(cpusText && /^\d+$/.test(cpusText.trim()) ? { cpus: Number(cpusText.trim()) } : {}),
    ...(idle === undefined ? {} : { cpuIdlePercent: idle }),
    ...(mem.availableBytes === undefined ? {} : { memoryAvailableBytes: mem.availableBytes }),
    ...(mem.totalBytes === undefined ? {} : { memoryTotalBytes: mem.totalBytes }),
    disks,
  };
}

/**
 * CPU idle, memory and disk of a remote host in one SSH round trip: `nproc`, `/proc/meminfo`,
 * two samples of `/proc/stat` `sampleMs` apart, and `df -Pk` per path. Never throws: an
 * unreachable host comes back with `error` set, so the report can say which host and why.
 */
export async function probeRemote(
  name: string,
  remote: RemoteExec,
  paths: readonly string[],
  options: { sampleMs: number; timeoutMs: number; signal?: AbortSignal },
): Promise<HostResources> {
  checkArguments(
    'probeRemote',
    {
      name: z.string(),
      remote: anObject('a remote runner (an SshSession)'),
      paths: z.array(z.string()),
      options: anObject('{ sampleMs, timeoutMs }'),
    },
    { name, remote, paths, options },
  );
  const started = performance.now();
  try {
    const result = await remote.exec(probeArgv(paths, options.sampleMs), {
      timeoutMs: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const parsed = parseProbe(result.stdout, paths);
    const complete = result.stdout.includes('@@end');
    return {
      host: name,
      local: false,
      ...parsed,
      ...(complete
        ? {}
        : { error: `probe did not finish (exit ${result.code}): ${result.stderr.trim().slice(0, 300)}` }),
      elapsedMs: performance.now() - started,
    };
  } catch (error) {
    return {
      host: name,
      local: false,
      disks: [],
      error: describeError(error).message,
      elapsedMs: performance.now() - started,
    };
  }
}

async function nearestExisting(path: string): Promise<string> {
  let current = resolve(path);
  for (;;) {
    try {
      await statfs(current);
      return current;
    } catch {
      const parent = dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

async function localDisk(path: string): Promise<DiskFigures> {
  const measured = await nearestExisting(path);
  try {
    const [s, st] = await Promise.all([statfs(measured), stat(measured)]);
    return {
      path,
      measured,
      device: `dev ${st.dev}`,
      totalBytes: s.blocks * s.bsize,
      freeBytes: s.bavail * s.bsize,
    };
  } catch (error) {
    return { path, measured, error: describeError(error).message };
  }
}

async function cpuSample(): Promise<{ idle: number; total: number } | undefined> {
  try {
    return parseStatLine((await readFile('/proc/stat', 'utf8')).split('\n', 1)[0] ?? '');
  } catch {
    // No /proc (macOS, a sandbox): Node's per-CPU counters say the same thing.
    let idle = 0;
    let total = 0;
    for (const { times } of cpus()) {
      idle += times.idle;
      total += times.user + times.nice + times.sys + times.irq + times.idle;
    }
    return total > 0 ? { idle, total } : undefined;
  }
}

const probeLocalSchema = z.object({
  paths: z.array(z.string().min(1)).min(1, 'must list at least one path whose free disk is measured'),
  sampleMs: z.number().int().nonnegative().max(60_000).default(250),
});

/**
 * The same figures for this machine, read directly (no child processes): `/proc/meminfo`,
 * `/proc/stat` twice, `statfs` per path. Well under a second with the default 250 ms sample.
 */
export async function probeLocal(
  paths: readonly string[] = ['.'],
  options: { sampleMs?: number } = {},
): Promise<HostResources> {
  const { sampleMs } = validateOptions('probeLocal', probeLocalSchema, { paths, ...options });
  const started = performance.now();
  const before = await cpuSample();
  const [disks, meminfo] = await Promise.all([
    Promise.all(paths.map(localDisk)),
    readFile('/proc/meminfo', 'utf8').then(parseMeminfo, () => ({
      availableBytes: freemem(),
      totalBytes: totalmem(),
    })),
    sleep(sampleMs),
  ]);
  const after = await cpuSample();
  const idle = before && after ? idlePercent(before, after) : undefined;
  return {
    host: 'local',
    local: true,
    cpus: availableParallelism(),
    ...(idle === undefined ? {} : { cpuIdlePercent: idle }),
    ...(meminfo.availableBytes === undefined ? {} : { memoryAvailableBytes: meminfo.availableBytes }),
    ...(meminfo.totalBytes === undefined ? {} : { memoryTotalBytes: meminfo.totalBytes }),
    disks,
    elapsedMs: performance.now() - started,
  };
}
