import { readFileSync, realpathSync, statSync } from 'node:fs';
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

/**
 * The bytes of a release file, once it is proven a regular file inside the release: a directory
 * would fail with a raw EISDIR, a FIFO would block the read for ever, a link could lead anywhere.
 */
export function readInsideRoot(
  root: string,
  base: string,
  path: string,
): { path: string; data: Buffer } | { problem: string } {
  const resolved = insideRoot(root, base, path);
  if ('problem' in resolved) return resolved;
  const stat = statSync(resolved.path);
  if (stat.isDirectory()) return { problem: `"${path}" is a directory, not a file` };
  if (!stat.isFile())
    return { problem: `"${path}" is not a regular file (a FIFO, socket or device cannot be read safely)` };
  return { path: resolved.path, data: readFileSync(resolved.path) };
}
