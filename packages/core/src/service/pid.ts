import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { CommandRunner } from './runner.js';

// Fixed scripts, values passed as positional parameters: nothing from the caller is ever parsed
// by a shell. A zombie (or a dying process) still answers `kill -0`, but it is gone for our purpose:
// orphans in containers are often reaped late or never, so the state in /proc decides.
const ALIVE_FUNCTION = `alive() {
  kill -0 "$pid" 2>/dev/null || return 1
  case "$(sed -n 's/^State:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null)" in Z*|X*) return 1;; esac
  return 0
}`;
const ALIVE = `pid=$1
${ALIVE_FUNCTION}
alive`;

/**
 * The whole graceful stop in one exec, so it costs one round trip however long the process takes:
 * TERM, poll, KILL, poll. Prints the outcome. Counting polls rather than reading a clock keeps it
 * POSIX; each poll also costs a little time, so the real grace period is, if anything, longer.
 *   $1 pid or '' · $2 pid file or '' · $3 polls after TERM · $4 polls after KILL · $5 poll interval (s) · $6 remove pid file (1/0)
 */
export const STOP_SCRIPT = `pid=$1; pidfile=$2; polls=$3; killpolls=$4; interval=$5; remove=$6
if [ -z "$pid" ]; then
  [ -e "$pidfile" ] || { echo "not-running -"; exit 0; }
  pid=$(cat -- "$pidfile") || exit 4
fi
case $pid in ''|*[!0-9]*|0|1) echo "bad-pid $pid" | head -c 80; exit 3;; esac
${ALIVE_FUNCTION}
finish() { [ "$remove" = 1 ] && [ -n "$pidfile" ] && rm -f -- "$pidfile"; echo "$1 $pid"; exit 0; }
alive || finish not-running
kill -TERM "$pid" 2>/dev/null
i=0; while [ "$i" -lt "$polls" ]; do alive || finish terminated; sleep "$interval"; i=$((i + 1)); done
alive || finish terminated
kill -KILL "$pid" 2>/dev/null
i=0; while [ "$i" -lt "$killpolls" ]; do alive || finish killed; sleep "$interval"; i=$((i + 1)); done
alive || finish killed
echo "alive $pid"; exit 1`;

/** Absolute, no NUL, not an option: safe to hand to any command as a path. */
export function assertAbsolutePath(path: string, what: string): void {
  if (typeof path !== 'string' || !path.startsWith('/') || path.includes('\0')) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `${what} must be an absolute path such as /var/run/app.pid (got ${JSON.stringify(path)})`,
    );
  }
}

export async function isAlive(runner: CommandRunner, pid: number, signal?: AbortSignal): Promise<boolean> {
  const result = await runner.exec(['sh', '-c', ALIVE, 'alive', String(pid)], signal ? { signal } : {});
  return result.code === 0;
}
