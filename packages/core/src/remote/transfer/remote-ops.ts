import type { SshSession } from '../session.js';
import { PICK_SHA256 } from './hash.js';
import { run } from './run.js';

// Fixed scripts; paths arrive as positional arguments only.
// For each (temporary, final, sha256): verify, then rename — one line of outcome per file.
const FINALIZE =
  PICK_SHA256 +
  'while [ $# -ge 3 ]; do t=$1; f=$2; want=$3; shift 3; ' +
  'h=$($H < "$t" 2>/dev/null | cut -c1-64); [ -n "$h" ] || h=-; ' +
  'if [ "$h" != "$want" ]; then rm -f -- "$t"; echo "mismatch $h"; ' +
  'elif [ -d "$f" ]; then echo directory; ' +
  'elif err=$(mv -f -- "$t" "$f" 2>&1); then echo ok; else echo "failed $err" | tr "\\n" " "; echo; fi; done';
const PREFLIGHT = 'mkdir -p -- "$@" || exit 1; df -Pk -- "$1" 2>/dev/null || true';

function failure(what: string, result: { code: number | null; stderr: string }): Error {
  return new Error(`${what}: ${result.stderr.trim() || `exit code ${result.code}`}`);
}

/**
 * `mkdir -p` every directory, then the bytes free on the file system of the first (undefined
 * when df says nothing usable) — one command.
 */
export async function prepareDirectories(
  session: SshSession,
  dirs: readonly string[],
): Promise<{ bytes: number; mount: string } | undefined> {
  if (dirs.length === 0) return undefined;
  const result = await run(session, ['sh', '-c', PREFLIGHT, 'sh', ...dirs]);
  if (result.code !== 0)
    throw failure(
      `cannot create ${dirs[0]}${dirs.length > 1 ? ` (and ${dirs.length - 1} more)` : ''}`,
      result,
    );
  const last = result.stdout.trim().split('\n').at(-1) ?? '';
  const match = /\s(\d+)\s+(\d+)\s+(\d+)\s+\d+%\s+(.*)$/.exec(last);
  return match ? { bytes: Number(match[3]) * 1024, mount: match[4] ?? dirs[0] ?? '/' } : undefined;
}

/** Size of a remote regular file, undefined when there is none. */
export async function remoteSize(
  session: SshSession,
  path: string,
  signal?: AbortSignal,
): Promise<number | undefined> {
  const result = await run(session, ['stat', '-c', '%s', '--', path], signal ? { signal } : {});
  const size = Number(result.stdout.trim());
  return result.code === 0 && result.stdout.trim() !== '' && Number.isFinite(size) ? size : undefined;
}

export async function removeFile(session: SshSession, path: string): Promise<void> {
  await run(session, ['rm', '-f', '--', path]);
}

export type Finalized =
  | { readonly outcome: 'ok' }
  | { readonly outcome: 'mismatch'; readonly arrived?: string }
  | { readonly outcome: 'failed'; readonly message: string };

/**
 * Verifies each temporary file's sha256 on the host and renames the good ones into place, in one
 * command for a whole directory; a file that does not verify is removed.
 */
export async function verifyAndMove(
  session: SshSession,
  files: readonly { temporary: string; final: string; sha256: string }[],
): Promise<Finalized[]> {
  const out: Finalized[] = [];
  for (let i = 0; i < files.length; i += 100) {
    const batch = files.slice(i, i + 100);
    const result = await run(session, [
      'sh',
      '-c',
      FINALIZE,
      'sh',
      ...batch.flatMap((f) => [f.temporary, f.final, f.sha256]),
    ]);
    const lines = result.stdout.split('\n');
    batch.forEach((file, j) => {
      const line = lines[j] ?? '';
      if (line === 'ok') out.push({ outcome: 'ok' });
      else if (line.startsWith('mismatch ')) {
        const arrived = line.slice('mismatch '.length);
        out.push({ outcome: 'mismatch', ...(arrived !== '-' ? { arrived } : {}) });
      } else if (line === 'directory')
        out.push({
          outcome: 'failed',
          message: `${file.final} is a directory; not replacing it with a file`,
        });
      else
        out.push({
          outcome: 'failed',
          message: `cannot move the verified file into place at ${file.final}: ${line.replace(/^failed /, '').trim() || result.stderr.trim() || 'no output'}`,
        });
    });
  }
  return out;
}
