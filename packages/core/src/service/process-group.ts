import type { ChildProcess } from 'node:child_process';

/** How a child asked to stop ended. */
export interface GroupStop {
  /** The signal it was asked to stop with, and when (performance.now()). */
  readonly askedAt?: number;
  /** It ignored SIGTERM for the whole grace period and was killed with SIGKILL. */
  readonly killed: boolean;
}

export interface ProcessGroup {
  /** SIGTERM to the whole group now; SIGKILL to it after `graceMs` unless the child has exited. */
  stop(): void;
  /** What `stop` did so far. */
  readonly state: GroupStop;
  /** Forget the group (its output has closed: all of it is gone): no more signals, no exit hook. */
  release(): void;
}

/**
 * Stops a child spawned with `detached: true` — the leader of its own process group — as a whole:
 * a shell script's own children (`sleep`) get the signal too, and none is left holding the output
 * pipes open after the script is gone. SIGTERM first; one that ignores it (`trap '' TERM`) is
 * killed after `graceMs`. If this process exits first (a second Ctrl-C), the group is killed on
 * the way out rather than left running unseen: being in its own group, a terminal's Ctrl-C no
 * longer reaches it.
 */
export function processGroup(child: ChildProcess, graceMs: number): ProcessGroup {
  let askedAt: number | undefined;
  let killed = false;
  let timer: NodeJS.Timeout | undefined;
  let exited = false;
  const signal = (name: NodeJS.Signals) => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, name);
    } catch {
      // ESRCH: the group is gone already.
    }
  };
  const onExit = () => signal('SIGKILL');
  process.once('exit', onExit);
  const release = () => {
    exited = true;
    if (timer) clearTimeout(timer);
    process.off('exit', onExit);
  };
  return {
    stop() {
      if (askedAt !== undefined || exited) return;
      // Its members may outlive the leader (holding the output open): the group is signalled
      // until `release`, not until the leader exits.
      askedAt = performance.now();
      signal('SIGTERM');
      timer = setTimeout(() => {
        if (exited) return;
        killed = true;
        signal('SIGKILL');
      }, graceMs);
    },
    get state() {
      return { ...(askedAt !== undefined ? { askedAt } : {}), killed };
    },
    release,
  };
}
