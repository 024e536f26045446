import { statfs } from 'node:fs/promises';
import { cpus, freemem, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/** Resource use at one moment, in percent (0–100); a figure that could not be read is absent. */
export interface ResourceSnapshot {
  readonly cpuPercent?: number;
  readonly memoryPercent?: number;
  readonly diskPercent?: number;
  /** The directory whose file system `diskPercent` describes. */
  readonly diskPath: string;
}

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const t = cpu.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { idle, total };
}

/**
 * Samples CPU (busy share over `cpuWindowMs`), memory (1 − available/total) and disk use of the
 * file system holding `diskPath` (as `df` computes it). Never throws: diagnostics must not hide
 * the error they describe.
 */
export async function sampleResources(
  diskPath = process.cwd(),
  cpuWindowMs = 200,
): Promise<ResourceSnapshot> {
  const before = cpuTimes();
  const [disk] = await Promise.all([diskUse(diskPath), sleep(cpuWindowMs)]);
  const after = cpuTimes();
  const total = after.total - before.total;
  const cpuPercent = total > 0 ? round(100 * (1 - (after.idle - before.idle) / total)) : undefined;
  const memTotal = totalmem();
  const memoryPercent = memTotal > 0 ? round(100 * (1 - freemem() / memTotal)) : undefined;
  return {
    diskPath,
    ...(cpuPercent === undefined ? {} : { cpuPercent }),
    ...(memoryPercent === undefined ? {} : { memoryPercent }),
    ...(disk === undefined ? {} : { diskPercent: disk }),
  };
}

async function diskUse(path: string): Promise<number | undefined> {
  try {
    const s = await statfs(path);
    const used = s.blocks - s.bfree;
    const usable = used + s.bavail;
    return usable > 0 ? round((100 * used) / usable) : undefined;
  } catch {
    return undefined;
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

export function formatResources(snapshot: ResourceSnapshot): string {
  const show = (n: number | undefined) => (n === undefined ? 'n/a' : `${n.toFixed(0)}%`);
  return `CPU ${show(snapshot.cpuPercent)}, memory ${show(snapshot.memoryPercent)}, disk ${show(snapshot.diskPercent)} (${snapshot.diskPath})`;
}
