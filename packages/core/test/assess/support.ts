import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Writes a release directory from a map of relative path → content and returns its path. */
export function writeRelease(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'uk-assess-release-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}
