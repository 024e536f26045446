// Every command the CLI prints for an operator to paste (issues 15 and 20), pasted: run through
// `bash -c` exactly as printed, from a release whose path has spaces, quotes and `$(touch pwned)`.
// A stand-in `upgradekit` first on PATH records the arguments it gets: they must be exactly the
// ones meant, and nothing else may run. One decision is then pasted into the real command.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bin, cli, demo, relaxed, sqlite, writeTree } from './support.js';

/** The demo application's tables (not upgradekit's own) in `cwd`'s `.upgradekit/main.sqlite`. */
async function demoTables(cwd: string): Promise<string[]> {
  if (!existsSync(join(cwd, '.upgradekit/main.sqlite'))) return [];
  const db = sqlite(join(cwd, '.upgradekit/main.sqlite'));
  try {
    const rows: Array<{ name: string }> = await db('sqlite_master').where({ type: 'table' }).select('name');
    return rows
      .map((r) => r.name)
      .filter((n) => !n.startsWith('upgradekit_') && !n.startsWith('sqlite_'))
      .sort();
  } finally {
    await db.destroy();
  }
}

const NASTY = `rel 'q' "dq" $(touch pwned) x`;
const CONFIG = 'my site.yaml';

/** A directory holding an executable `upgradekit` with this body. */
function onPath(script: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'uk-path-'));
  writeFileSync(join(dir, 'upgradekit'), script);
  chmodSync(join(dir, 'upgradekit'), 0o755);
  return dir;
}

/** Pastes `command` into bash in `cwd` with the recording stand-in first on PATH: the argv it got. */
function paste(command: string, cwd: string): string[] {
  const record = join(mkdtempSync(join(tmpdir(), 'uk-argv-')), 'argv.json');
  const dir = onPath(
    `#!${process.execPath}\nrequire('node:fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify(process.argv.slice(2)));\n`,
  );
  const r = spawnSync('bash', ['-c', command], {
    cwd,
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
    encoding: 'utf8',
  });
  expect(r.status, `${command}\n${r.stderr}`).toBe(0);
  expect(existsSync(join(cwd, 'pwned')), 'the pasted command ran $(touch pwned)').toBe(false);
  return JSON.parse(readFileSync(record, 'utf8')) as string[];
}

/** The line after `label` in `text`, without its indentation. */
function lineAfter(text: string, label: string): string {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.includes(label));
  expect(at, `no "${label}" in:\n${text}`).toBeGreaterThanOrEqual(0);
  return lines[at + 1]!.trim();
}

/** The rest of the line that starts with `label`. */
function lineAt(text: string, label: string): string {
  const line = text.split('\n').find((l) => l.startsWith(label));
  expect(line, `no "${label}" in:\n${text}`).toBeDefined();
  return line!.slice(label.length);
}

describe('printed commands are safe to paste and complete', () => {
  it('resolve: one command per decision, with the real step id, its version, --config; the pasted one works', () => {
    const root = mkdtempSync(join(tmpdir(), 'uk-paste-'));
    writeTree(root, {
      [CONFIG]: 'site: site-7\nassessment: { thresholds: { cpuIdlePercent: 0 } }\n',
      [`${NASTY}/upgradekit.yaml`]:
        'component: x\ndatasources:\n  main: { type: sqlite }\ndefaults: { datasource: main }\n',
      // The id dies_once is in both versions: the printed command must say which.
      [`${NASTY}/versions/1.1.0/tasks.yaml`]:
        'tasks:\n  - { id: dies_once, kind: tool, stage: in_stop, package: ./die.mjs, compatibleFrom: 1.0.0 }\n',
      [`${NASTY}/versions/1.1.0/die.mjs`]: `import { existsSync, writeFileSync } from 'node:fs';
export default { run() {
  if (!existsSync('died')) { writeFileSync('died', ''); process.kill(process.pid, 'SIGKILL'); }
} };\n`,
      [`${NASTY}/versions/1.2.0/tasks.yaml`]:
        'tasks:\n  - { id: dies_once, kind: sql, stage: post_start, file: t.sql, compatibleFrom: 1.0.0 }\n',
      [`${NASTY}/versions/1.2.0/t.sql`]: 'CREATE TABLE t (id INTEGER);\n',
    });
    const args = ['--config', CONFIG, '--release', NASTY, '--from', '1.0.0', '--to', '1.2.0'];
    expect(cli(['run', ...args], { cwd: root }).signal).toBe('SIGKILL');
    const doubt = cli(['run', ...args], { cwd: root });
    expect(doubt.status, doubt.stderr).toBe(3);

    const expected = (decision: string) => [
      'resolve',
      'dies_once',
      decision,
      '--version',
      '1.1.0',
      '--release',
      NASTY,
      '--from',
      '1.0.0',
      '--to',
      '1.2.0',
      '--config',
      CONFIG,
    ];
    const applied = lineAt(doubt.stderr, 'If dies_once took effect: ');
    const retry = lineAt(doubt.stderr, 'If it did not: ');
    expect(paste(applied, root)).toEqual(expected('--applied'));
    expect(paste(retry, root)).toEqual(expected('--retry'));

    // Ids repeat across versions: status shows which is which.
    const before = cli(['status', ...args], { cwd: root });
    expect(before.stdout).toMatch(
      /IN_DOUBT\s+preStart\s+dies_once \(version 1\.1\.0\) — in doubt since run \S+ and may or may not have taken effect/,
    );
    expect(before.stdout).toMatch(/PENDING\s+postStart\s+dies_once \(version 1\.2\.0\)\n/);
    const dry = cli(['run', '--dry-run', ...args], { cwd: root });
    expect(dry.stdout).toMatch(
      /BLOCKED\s+preStart\s+dies_once \(version 1\.1\.0\) — .*\(in doubt since run /,
    );
    expect(dry.stdout).toMatch(/RUN\s+postStart\s+versions\/1\.2\.0\/t\.sql \(version 1\.2\.0\)/);

    // The printed command, pasted into a shell whose `upgradekit` is the real one.
    const real = onPath(`#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} "$@"\n`);
    const resolved = spawnSync('bash', ['-c', applied], {
      cwd: root,
      env: { ...process.env, CI: 'true', NO_COLOR: '1', PATH: `${real}:${process.env.PATH}` },
      encoding: 'utf8',
    });
    expect(resolved.status, resolved.stderr).toBe(0);
    expect(resolved.stdout).toBe(
      'dies_once: resolved as applied — recorded as done: it will not run again\n',
    );
    expect(existsSync(join(root, 'pwned'))).toBe(false);
    const after = cli(['status', ...args], { cwd: root });
    expect(after.stdout).toMatch(/SUCCEEDED\s+preStart\s+dies_once \(version 1\.1\.0\)/);
    const done = cli(['run', ...args], { cwd: root });
    expect(done.status, done.stderr).toBe(0);
    expect(existsSync(join(root, 'pwned'))).toBe(false);
  });

  it('an edited, partly applied SQL file: the printed restart command, pasted, starts it again', () => {
    const root = mkdtempSync(join(tmpdir(), 'uk-paste-ed-'));
    const file = (top: string, third: string) =>
      `${top}CREATE TABLE a (id INTEGER);\nBEGIN TRANSACTION;\nCREATE TABLE b (id INTEGER);\n${third};\nCOMMIT;\n`;
    writeTree(root, {
      [CONFIG]: 'site: site-9\nassessment: { thresholds: { cpuIdlePercent: 0 } }\n',
      [`${NASTY}/upgradekit.yaml`]:
        'component: x\ndatasources:\n  main: { type: sqlite }\ndefaults: { datasource: main }\n',
      [`${NASTY}/versions/1.1.0/tasks.yaml`]:
        'tasks:\n  - { id: ed, kind: sql, stage: in_stop, file: t.sql, compatibleFrom: 1.0.0 }\n',
      [`${NASTY}/versions/1.1.0/t.sql`]: file('', 'INSERT INTO nope VALUES (1)'),
    });
    const args = ['--config', CONFIG, '--release', NASTY, '--from', '1.0.0', '--to', '1.1.0'];
    expect(cli(['run', ...args], { cwd: root }).status).toBe(1);
    // A line added at the top shifts every statement: refused, not resumed by position.
    writeFileSync(
      join(root, NASTY, 'versions/1.1.0/t.sql'),
      file('CREATE TABLE c (id INTEGER);\n', 'SELECT 1'),
    );
    const refused = cli(['run', ...args], { cwd: root });
    expect(refused.status, refused.stderr).toBe(3);
    expect(refused.stderr).toMatch(/changed before the point where it stopped/);
    const restart = lineAt(refused.stderr, 'If you restored or cleaned up what ed did: ');
    expect(paste(restart, root)).toEqual([
      'resolve',
      'ed',
      '--restart',
      '--release',
      NASTY,
      '--from',
      '1.0.0',
      '--to',
      '1.1.0',
      '--config',
      CONFIG,
    ]);
    const from = lineAt(refused.stderr, 'Or, to continue at a statement you choose: ');
    expect(paste(from, root)).toContain('--from-statement');
    // The operator cleans up (drops what the first attempt made), then pastes the restart.
    const real = onPath(`#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} "$@"\n`);
    const env = { ...process.env, CI: 'true', NO_COLOR: '1', PATH: `${real}:${process.env.PATH}` };
    rmSync(join(root, '.upgradekit/main.sqlite'));
    const resolved = spawnSync('bash', ['-c', restart], { cwd: root, env, encoding: 'utf8' });
    expect(resolved.status, resolved.stderr).toBe(0);
    expect(resolved.stdout).toMatch(/ed: resolved as restart — saved progress dropped: statement 1 of 6/);
    const done = cli(['run', ...args], { cwd: root });
    expect(done.status, done.stderr).toBe(0);
    expect(existsSync(join(root, 'pwned'))).toBe(false);
  });

  it('rollback: after a failed core step, and the next steps of an unfinished rollback', () => {
    const root = mkdtempSync(join(tmpdir(), 'uk-paste-rb-'));
    writeTree(root, {
      [CONFIG]:
        'site: site-8\nassessment: { thresholds: { cpuIdlePercent: 0 } }\nbackup: { root: backups, programDir: app }\n',
      'app/VERSION': '1.0.0\n',
      [`${NASTY}/upgradekit.yaml`]:
        'component: x\ndatasources:\n  main: { type: sqlite }\ndefaults: { datasource: main }\n',
      [`${NASTY}/versions/2.0.0/tasks.yaml`]:
        'tasks:\n  - { id: broken, kind: sql, stage: in_stop, file: b.sql, compatibleFrom: 1.0.0 }\n',
      [`${NASTY}/versions/2.0.0/b.sql`]: 'ALTER TABLE nope ADD COLUMN x INTEGER;\n',
    });
    const site = ['--release', NASTY, '--config', CONFIG];
    const failed = cli(['run', '--yes', ...site, '--from', '1.0.0', '--to', '2.0.0'], { cwd: root });
    expect(failed.status, failed.stderr).toBe(1);
    expect(paste(lineAfter(failed.stderr, 'or roll back with:'), root)).toEqual([
      'rollback',
      'auto',
      ...site,
    ]);

    expect(cli(['rollback', 'manual', ...site], { cwd: root }).status).toBe(0);
    const status = cli(['rollback', 'status', ...site], { cwd: root });
    expect(status.status).toBe(3);
    const next = status.stdout.split('Next, one of:\n')[1]!.trim().split('\n').slice(0, 3);
    expect(next.map((line) => paste(line.trim(), root))).toEqual([
      ['rollback', 'step', '1', ...site],
      ['rollback', 'auto-continue-from', '1', ...site],
      ['rollback', 'abandon', ...site],
    ]);
  });

  it('a stop-mode whole run: refused (exit 3, a decision; nothing run) without --services external; with it, it stops after preUpgrade and the printed --stage preStart, pasted, runs the next cut-point', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'uk-paste-stop-'));
    const args = ['run', '--release', demo, '--from', '2.16.5', '--to', '2.16.7'];
    const refused = cli(args, { cwd });
    expect(refused.status, refused.stderr).toBe(3);
    expect(refused.stderr).toContain(
      'demo-shop 2.16.5 → 2.16.7 needs its services stopped (stop mode), and a whole run does not stop or start them: nothing was run.',
    );
    expect(lineAfter(refused.stderr, 'Either your pipeline stops and starts them')).toBe(
      `upgradekit run --release ${demo} --from 2.16.5 --to 2.16.7 --services external --config ${relaxed}`,
    );
    expect(lineAfter(refused.stderr, 'Or run each stage yourself')).toBe(
      `upgradekit run --release ${demo} --from 2.16.5 --to 2.16.7 --stage preUpgrade --config ${relaxed}`,
    );
    expect(await demoTables(cwd)).toEqual([]);

    const paused = cli([...args, '--services', 'external', '--json'], { cwd });
    expect(paused.status, paused.stderr).toBe(0);
    expect(paused.json()).toMatchObject({ status: 'paused', exitClass: 'ok', mode: 'stop' });
    expect((paused.json().stages as Array<{ stage: string }>).map((s) => s.stage)).toEqual([
      'install',
      'resourceCheck',
      'businessCheck',
      'preUpgrade',
    ]);
    expect(await demoTables(cwd)).toEqual(['order_notes']); // preUpgrade's task, nothing of preStart
    const next = lineAfter(paused.stderr, 'Stopped after preUpgrade, as --services external asks');
    expect(next).toBe(
      `upgradekit run --release ${demo} --from 2.16.5 --to 2.16.7 --stage preStart --config ${relaxed}`,
    );

    // The services are stopped (the demo has none); the printed command, pasted, runs preStart.
    const real = onPath(`#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} "$@"\n`);
    const r = spawnSync('bash', ['-c', next], {
      cwd,
      env: {
        ...process.env,
        CI: 'true',
        NO_COLOR: '1',
        UPGRADEKIT_CONFIG: relaxed,
        PATH: `${real}:${process.env.PATH}`,
      },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('demo-shop 2.16.5 → 2.16.7 on site default, stage preStart: succeeded');
    expect(await demoTables(cwd)).toEqual(['customers', 'order_notes', 'orders']);
  });

  it('init: the plan command for the new release, ending with --from for the version that runs now', () => {
    const root = mkdtempSync(join(tmpdir(), 'uk-paste-init-'));
    mkdirSync(root, { recursive: true });
    const r = cli(['init', NASTY, '--component', 'billing', '--first-version', '3.1.0'], { cwd: root });
    expect(r.status, r.stderr).toBe(0);
    expect(paste(lineAfter(r.stdout, 'Next, see its plan'), root)).toEqual([
      'plan',
      '--release',
      NASTY,
      '--to',
      '3.1.0',
      '--from',
    ]);
    // A component name that would break upgradekit.yaml (or forge a log line) is refused, nothing written.
    const broken = cli(['init', 'other', '--component', 'bill\ning'], { cwd: root });
    expect(broken.status).toBe(2);
    expect(broken.stderr).toContain('--component "bill\\ning"');
    expect(existsSync(join(root, 'other'))).toBe(false);
  });
});
