// The live task list on a terminal (issue 22): a step that fails once and succeeds on its retry is
// drawn as succeeded, not left ✖ with the first attempt's error. A real pseudo-terminal, through
// util-linux `script`, as an operator's terminal runs the CLI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bin, relaxed, writeTree } from './support.js';

/** Runs the CLI on a pseudo-terminal 140 columns wide; what the terminal showed, escapes removed. */
function onTerminal(args: readonly string[], cwd: string): { status: number | null; screen: string } {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const command = `stty cols 140 rows 40; ${[process.execPath, bin, ...args].map(quote).join(' ')}`;
  const result = spawnSync('script', ['-qec', command, '/dev/null'], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, CI: '', UPGRADEKIT_CONFIG: relaxed, TERM: 'xterm' },
    timeout: 60_000,
  });
  const screen = result.stdout.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '\n');
  return { status: result.status, screen };
}

function release(attempts: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'uk-tasklist-'));
  return writeTree(dir, {
    'rel/upgradekit.yaml':
      'component: shop\ndatasources:\n  main: { type: sqlite }\ndefaults: { datasource: main }\n',
    // Fails on its first run (leaving a marker), succeeds on the next.
    'rel/versions/1.1.0/tasks.yaml': `tasks:\n  - id: flaky\n    kind: command\n    stage: pre_stop\n    compatibleFrom: 0.0.0\n    command: [sh, -c, 'if [ -e once ]; then exit 0; fi; touch once; echo "connection reset by peer" >&2; exit 1']\n    retry: { attempts: ${attempts}, minDelay: 100ms }\n`,
  });
}

const args = ['run', '--release', 'rel', '--from', '1.0.0', '--to', '1.1.0', '--yes'];

describe('the live task list', () => {
  it('a step that succeeds on its retry is drawn ✔, with no stale error', () => {
    const { status, screen } = onTerminal(args, release(2));
    expect(status, screen).toBe(0);
    // The list's last frame, before the summary: what the operator is left looking at.
    const frames = screen.slice(0, screen.indexOf('[SUCCESS] flaky')).match(/[✔✖] flaky/g) ?? [];
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.at(-1)).toBe('✔ flaky');
  });

  it('a step that fails its last attempt is drawn ✖ with the reason', () => {
    const { status, screen } = onTerminal(args, release(1));
    expect(status, screen).toBe(1);
    expect(screen).toMatch(/✖ flaky: task flaky: sh exited with code 1/);
    expect(screen).toContain('connection reset by peer');
  });
});
