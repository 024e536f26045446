import type {
  HolderLiveness,
  LockAssessment,
  LockHolder,
  ProcessIdentity,
  ProcProbe,
  RunRecord,
} from '../state/index.js';
import { describeTakeover, holderLiveness } from '../state/internal.js';

/** The site lock as `status` reports it: its holder, whether that is alive, and when it is taken over. */
export interface LockStatus extends LockHolder {
  /** Whether the holder's process is alive, dead, or cannot be checked from here, and why. */
  readonly liveness: HolderLiveness;
  /** Proven dead, or its heartbeat past its TTL: its run is over and the next run takes the lock. */
  readonly stale: boolean;
  /** Heartbeat + TTL, epoch ms: when the lock is taken over if the heartbeat stops now. */
  readonly takeoverAt: number;
  /** When and how the lock is taken over, in words (`describeTakeover`). */
  readonly takeover: string;
}

/** A run that stopped without finishing: its process died, or went silent past its lock's TTL. */
export interface InterruptedRun {
  readonly runId: string;
  readonly host: string;
  readonly pid: number;
  /** What is known of its process: `dead` (proven), or `alive`/`unknown` and silent past its TTL. */
  readonly liveness: HolderLiveness['state'];
  /** Why it counts as interrupted, e.g. "its process is dead: no process has pid 123 …". */
  readonly why: string;
}

export function lockStatus(a: LockAssessment, now: number): LockStatus {
  return {
    ...a.holder,
    liveness: a.liveness,
    stale: a.stale,
    takeoverAt: a.takeoverAt,
    takeover: describeTakeover(a, now),
  };
}

const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s`;

/**
 * The run that was interrupted, if any: the lock's holder when it is stale, or — when nobody holds
 * the lock — a last run recorded as running whose process is not alive (a later command, such as
 * `resolve`, took its lock over and released it). A live holder is not interrupted, whatever its steps
 * say.
 */
export function interruptedRun(
  lock: LockAssessment | undefined,
  lastRun: RunRecord | undefined,
  self: { readonly identity: ProcessIdentity; readonly probe: ProcProbe; readonly now: number },
): InterruptedRun | undefined {
  if (lock) {
    if (!lock.stale) return undefined;
    const { holder, liveness } = lock;
    const why =
      liveness.state === 'dead'
        ? `its process is dead: ${liveness.reason}`
        : `heartbeat silent past its TTL: last heartbeat ${seconds(self.now - holder.heartbeatAt)} ago, TTL ${seconds(holder.ttlMs)} (${liveness.state === 'alive' ? 'its process is still there but stopped beating' : `whether its process is alive cannot be checked: ${liveness.reason}`})`;
    return { runId: holder.runId, host: holder.host, pid: holder.pid, liveness: liveness.state, why };
  }
  if (lastRun?.status !== 'running') return undefined;
  const liveness = holderLiveness(lastRun, self.identity, self.probe);
  if (liveness.state === 'alive') return undefined;
  return {
    runId: lastRun.runId,
    host: lastRun.host,
    pid: lastRun.pid,
    liveness: liveness.state,
    why:
      liveness.state === 'dead'
        ? `its process is dead: ${liveness.reason}`
        : `it recorded no end and no longer holds the site lock (${liveness.reason})`,
  };
}
