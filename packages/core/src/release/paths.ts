import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/**
 * Resolves `path` (relative to `base`) and proves it stays inside `root`, following symlinks:
 * `../../etc/passwd` and a link pointing out of the release are both refused.
 * Returns the real path, or an explanation of why not.
 */
export function insideRoot(root: string, base: string, path: string): { path: string } | { problem: string } {
  if (isAbsolute(path)) return { problem: `must be relative to the release, not absolute ("${path}")` };
  const target = resolve(base, path);
  const within = (p: string) => p === root || p.startsWith(root + sep);
  if (!within(target)) return { problem: `"${path}" points outside the release directory` };
  let real: string;
  try {
    real = realpathSync(target);
  } catch {
    return { problem: `"${path}" does not exist (looked for ${relative(root, target) || '.'})` };
  }
  if (!within(real)) return { problem: `"${path}" is a link that leads outside the release directory` };
  return { path: real };
}
