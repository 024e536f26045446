import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who a process is, precisely enough to tell later whether it is still running: the kernel it ran
 * on (boot id), the PID namespace its pid belongs to, the pid, and when that pid's process started
 * (so a reused pid is not mistaken for it). Hostname is kept for people; it proves nothing, since two
 * machines or containers may share one. Fields are undefined where they could not be read (not
 * Linux, no /proc) or were recorded by an upgradekit older than state schema 5.
 */
export interface ProcessIdentity {
  readonly host: string;
  readonly pid: number;
  /** `/proc/sys/kernel/random/boot_id`: one per kernel boot. */
  readonly bootId?: string | undefined;
  /** `readlink /proc/self/ns/pid`, e.g. `pid:[4026531836]`. */
  readonly pidNamespace?: string | undefined;
  /** Field 22 of `/proc/<pid>/stat`: the start time in clock ticks since boot. */
  readonly startTime?: number | undefined;
}

/** What `/proc/<pid>/stat` says of a process: its state letter and start time in clock ticks since boot. */
export interface ProcStat {
  readonly pid: number;
  readonly state: string;
  readonly startTime: number;
}

/** Reads `/proc/<pid>/stat`: undefined when there is no such process; throws when it cannot tell. */
export type ProcProbe = (pid: number) => ProcStat | undefined;

/**
 * Parses a `/proc/<pid>/stat` line. The second field (comm, in parentheses) may itself contain
 * spaces and parentheses, so the fields are counted from after the *last* `)`: the state is field 3,
 * the start time field 22.
 */
export function parseProcStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  const open = text.indexOf('(');
  if (open < 0 || close < open) throw new Error(`unreadable /proc stat line: ${text.slice(0, 80)}`);
  const pid = Number(text.slice(0, open).trim());
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const state = rest[0];
  const startTime = Number(rest[22 - 3]);
  if (!Number.isInteger(pid) || !state || !Number.isFinite(startTime)) {
    throw new Error(`unreadable /proc stat line: ${text.slice(0, 80)}`);
  }
  return { pid, state, startTime };
}

/** The real probe: this machine's `/proc`, as this process sees it. */
export const procProbe: ProcProbe = (pid) => {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw error;
  }
  return parseProcStat(text);
};

function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

let cached: ProcessIdentity | undefined;

/**
 * This process's identity, read once. The PID namespace is recorded only when `/proc` is this
 * process's own (its `/proc/self` is our pid): a `/proc` mounted from another namespace could not
 * prove anything about our pids.
 */
export function holderIdentity(): ProcessIdentity {
  if (cached && cached.pid === process.pid) return cached;
  const self = attempt(() => parseProcStat(readFileSync('/proc/self/stat', 'utf8')));
  const ours = self?.pid === process.pid;
  const bootId = attempt(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()) || undefined;
  cached = {
    host: hostname(),
    pid: process.pid,
    bootId,
    pidNamespace: ours ? attempt(() => readlinkSync('/proc/self/ns/pid')) : undefined,
    startTime: ours ? self.startTime : undefined,
  };
  return cached;
}

/**
 * Whether a lock holder's process is running:
 * - `dead`: proven — same kernel (boot id) and same PID namespace as us, and its pid is either gone,
 *   now another process (another start time), or a zombie (`Z`) / dead (`X`);
 * - `alive`: its process is there, as recorded, on this kernel and in this namespace;
 * - `unknown`: it cannot be proven either way from here (another boot id — another machine or a
 *   reboot, which we cannot tell apart —, another PID namespace, an identity not recorded, /proc
 *   unreadable). Then only the heartbeat TTL decides.
 */
export type HolderLiveness =
  | { readonly state: 'dead'; readonly reason: string }
  | { readonly state: 'alive'; readonly reason: string }
  | { readonly state: 'unknown'; readonly reason: string };

export function holderLiveness(
  holder: ProcessIdentity,
  self: ProcessIdentity,
  probe: ProcProbe,
): HolderLiveness {
  const unknown = (reason: string): HolderLiveness => ({ state: 'unknown', reason });
  if (holder.bootId === undefined || holder.pidNamespace === undefined || holder.startTime === undefined) {
    return unknown('its process identity was not recorded (an older upgradekit, or no /proc where it ran)');
  }
  if (self.bootId === undefined || self.pidNamespace === undefined) {
    return unknown('this process cannot read its own identity from /proc');
  }
  if (holder.bootId !== self.bootId) {
    return unknown(
      `it ran under another kernel boot (boot id ${holder.bootId}, ours ${self.bootId}): another machine, or this one since rebooted`,
    );
  }
  if (holder.pidNamespace !== self.pidNamespace) {
    return unknown(
      `it runs in another PID namespace (${holder.pidNamespace}, ours ${self.pidNamespace}), where its pid ${holder.pid} is not our pid ${holder.pid}`,
    );
  }
  let stat: ProcStat | undefined;
  try {
    stat = probe(holder.pid);
  } catch (error) {
    return unknown(`/proc/${holder.pid}/stat could not be read: ${(error as Error).message}`);
  }
  if (!stat) return { state: 'dead', reason: `no process has pid ${holder.pid} on this machine any more` };
  if (stat.startTime !== holder.startTime) {
    return {
      state: 'dead',
      reason: `pid ${holder.pid} is now another process (started at tick ${stat.startTime}, the holder at tick ${holder.startTime})`,
    };
  }
  if (stat.state === 'Z' || stat.state === 'X') {
    return {
      state: 'dead',
      reason: `its process (pid ${holder.pid}) has exited and is a ${stat.state === 'Z' ? 'zombie' : 'dead'} not yet reaped`,
    };
  }
  return { state: 'alive', reason: `its process (pid ${holder.pid}) is running on this machine` };
}

/** True only when the holder is proven dead; see holderLiveness. */
export function provablyDead(
  holder: ProcessIdentity,
  self: ProcessIdentity,
  probe: ProcProbe = procProbe,
): boolean {
  return holderLiveness(holder, self, probe).state === 'dead';
}
