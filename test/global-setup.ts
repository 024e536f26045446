import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Child-process fixtures import the built `@upgradekit/core` (it starts twice as fast as the
 * sources through tsx), and the CLI tests run the built `upgradekit` bin. `tsc -b` is
 * incremental: near-instant when the build is current.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  try {
    execFileSync(
      process.execPath,
      [`${root}node_modules/typescript/bin/tsc`, '-b', 'packages/core', 'packages/cli'],
      { cwd: root, stdio: 'inherit' },
    );
  } catch {
    // tsc still emits what it can. Type errors are `npm test`'s typecheck to report (it runs
    // first and stops the run); here they must not keep every other test from running.
    process.stderr.write('\n!!! tsc -b reported type errors; tests use the build as emitted\n\n');
  }
}
