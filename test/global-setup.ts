import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Child-process fixtures import the built `@upgradekit/core` (it starts twice as fast as the
 * sources through tsx). `tsc -b` is incremental: near-instant when the build is current.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', 'packages/core'], {
    cwd: root,
    stdio: 'inherit',
  });
}
