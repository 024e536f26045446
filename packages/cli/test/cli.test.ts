// The `upgradekit` command as an operator or a CI step runs it: the built bin in a child process,
// real SQLite and MariaDB, a real SIGKILL. Exit codes and documents are the contract.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireService, suiteMariaDbAccount } from '#test-support';
import { bin, cli, demo, memAvailable, relaxed, sqlite, writeTree } from './support.js';

describe('upgradekit --help', () => {
  it('starts in well under 300 ms (heavy modules load lazily)', () => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const r = cli(['--help']);
      times.push(performance.now() - started);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('Usage: upgradekit');
      for (const command of ['plan', 'assess', 'run', 'status', 'resolve', 'backup', 'rollback', 'init'])
        expect(r.stdout).toContain(command);
    }
    expect(Math.min(...times)).toBeLessThan(300);
  });
});

describe('the embedded demo: SQLite state, a local host, no services', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'uk-demo-'));
  const args = ['run', '--release', demo, '--from', '2.16.6', '--to', '2.16.7'];

  it('runs every stage, prints a summary, and changes the database', async () => {
    const r = cli(args, { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('[SUCCESS] Create the order_notes table');
    expect(r.stdout).toContain('[SUCCESS] Verify every customer has a tier');
    expect(r.stdout).toMatch(/demo-shop 2\.16\.6 → 2\.16\.7 on site default: succeeded/);
    for (const stage of ['preUpgrade', 'preStart', 'postStart']) {
      expect(r.stderr).toContain(`[${stage}] stage ${stage} started`);
      expect(r.stderr).toMatch(new RegExp(`\\[${stage}\\] stage ${stage} succeeded in \\d`));
    }
    // Off a terminal, a stage with no steps says nothing: no "started", no "succeeded in 0ms".
    for (const stage of ['install', 'resourceCheck', 'businessCheck', 'openTraffic', 'postUpgrade'])
      expect(r.stderr).not.toContain(`stage ${stage}`);
    expect(r.stderr).not.toMatch(/succeeded in 0ms/);
    // The assessment's findings are said once, by its report on stdout: its events print one line.
    expect(r.stderr.split('\n').filter((l) => l.includes('assess'))).toEqual([
      'assessing resources, data quality, compatibility and duration…',
    ]);
    expect(r.stdout).toContain('Verdict: PASS');
    expect(r.stdout).toMatch(/^Resources \[PASS\]$/m);
    expect(r.stdout).toMatch(/^Duration \[PASS\]$/m);
    expect(r.stdout).toContain('Estimated duration: no estimate — none of the 4 tasks declares one');
    expect(r.stdout).not.toMatch(/total 0ms|: 0ms$/m);
    expect(r.stdout + r.stderr).not.toMatch(/[\u4e00-\u9fff]/); // English UI: no Chinese
    expect(r.stdout).toMatch(/Free memory on local: [\d.]+ [KMGT]iB available of [\d.]+ [KMGT]iB/);
    const db = sqlite(join(cwd, '.upgradekit/main.sqlite'));
    const tiers = await db('customers').select('name', 'tier').orderBy('name');
    await db.destroy();
    expect(tiers).toEqual([
      { name: 'alice', tier: 'gold' },
      { name: 'bob', tier: 'standard' },
    ]);
  });

  it('a second run does nothing and says so', () => {
    const r = cli(args, { cwd });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(
      'Nothing to do: demo-shop 2.16.6 → 2.16.7 on site default — all 4 steps are already done.',
    );
    expect(r.stderr).not.toContain('started');
  });

  it('status --json is one document on stdout; the last run is found without --from/--to', () => {
    const r = cli(['status', '--json', '--release', demo], { cwd });
    expect(r.status).toBe(0);
    const doc = r.json() as {
      ok: boolean;
      status: string;
      report: { counts: Record<string, number>; from: string; to: string };
    };
    expect(doc.ok).toBe(true);
    expect(doc.status).toBe('succeeded');
    expect(doc.report.counts).toMatchObject({ done: 4, pending: 0, failed: 0, inDoubt: 0 });
    expect([doc.report.from, doc.report.to]).toEqual(['2.16.6', '2.16.7']);
  });

  it('every run and status says where the state is; from another directory, status says which state it read', () => {
    const again = cli(['run', '--release', demo, '--from', '2.16.6', '--to', '2.16.7'], { cwd });
    expect(again.stdout).toContain(`  state: SQLite file ${join(cwd, '.upgradekit/state.sqlite')}`);
    const status = cli(['status', '--json', '--release', demo], { cwd });
    expect(status.json().state).toBe(`SQLite file ${join(cwd, '.upgradekit/state.sqlite')}`);
    const elsewhere = mkdtempSync(join(tmpdir(), 'uk-elsewhere-'));
    const none = cli(['status', '--release', demo], { cwd: elsewhere });
    expect(none.status).toBe(0);
    expect(none.stdout).toContain(
      `No upgrade of demo-shop recorded on site default yet (state: SQLite file ${join(elsewhere, '.upgradekit/state.sqlite')}).`,
    );
  });

  it('plan --json and --dry-run describe without executing', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'uk-demo-dry-'));
    const plan = cli(['plan', '--json', '--release', demo, '--from', '2.16.5', '--to', '2.16.7'], {
      cwd: fresh,
    });
    expect(plan.status).toBe(0);
    const doc = plan.json() as { plan: { mode: string; stages: Record<string, Array<{ id: string }>> } };
    expect(doc.plan.mode).toBe('stop'); // 2.16.6's create_orders is compatible from 2.16.5 only
    expect(doc.plan.stages.preStart?.map((t) => t.id)).toEqual(['create_orders', 'add_customer_tier']);
    const dry = cli([...args, '--dry-run'], { cwd: fresh });
    expect(dry.status).toBe(0);
    expect(dry.stdout).toMatch(/RUN\s+preUpgrade\s+Create the order_notes table/);
    expect(existsSync(join(fresh, '.upgradekit/main.sqlite'))).toBe(true); // opened, but…
    const db = sqlite(join(fresh, '.upgradekit/main.sqlite'));
    const tables: Array<{ name: string }> = await db('sqlite_master').where({ type: 'table' }).select('name');
    await db.destroy();
    expect(tables.map((t) => t.name).filter((n) => !n.startsWith('upgradekit_'))).toEqual([]); // …no task ran
  });
});

describe('a failed SQL statement', () => {
  it('leads with the cause; --verbose adds the whole statement, --json carries it in the error context', () => {
    const long = `SELECT '${'x'.repeat(400)}' FROM missing_table`;
    const dir = writeTree(mkdtempSync(join(tmpdir(), 'uk-verbose-')), {
      'upgradekit.yaml':
        'component: x\ndatasources:\n  main: { type: sqlite }\ndefaults: { datasource: main }\n',
      'versions/1.1.0/tasks.yaml':
        'tasks:\n  - { id: bad, kind: sql, stage: in_stop, file: bad.sql, compatibleFrom: 1.0.0 }\n',
      'versions/1.1.0/bad.sql': `CREATE TABLE ok (id INTEGER);\n${long};\n`,
    });
    const args = ['run', '--release', dir, '--from', '1.0.0', '--to', '1.1.0'];
    const plain = cli(args, { cwd: dir });
    expect(plain.status).toBe(1);
    expect(plain.stdout + plain.stderr).toMatch(
      /SQLITE_ERROR: no such table: missing_table — at versions\/1\.1\.0\/bad\.sql:2, statement 2 of 2/,
    );
    expect(plain.stdout + plain.stderr).not.toContain('x'.repeat(300));
    const verbose = cli([...args, '--verbose'], { cwd: mkdtempSync(join(tmpdir(), 'uk-verbose-')) });
    expect(verbose.stderr).toContain(`--- statement ---\n${long}`);
    const json = cli([...args, '--json'], { cwd: mkdtempSync(join(tmpdir(), 'uk-verbose-')) });
    expect(JSON.stringify(json.json())).toContain('x'.repeat(400));
  });
});

describe('on a terminal', () => {
  it('draws the run as a task list (listr2): stages, steps, ticks and the failure', () => {
    const dir = writeTree(mkdtempSync(join(tmpdir(), 'uk-tty-')), {
      'upgradekit.yaml':
        'component: x\ndatasources:\n  main: { type: sqlite }\ndefaults: { datasource: main }\n',
      'versions/1.1.0/tasks.yaml': [
        'tasks:',
        '  - { id: good, kind: sql, stage: pre_stop, file: good.sql, compatibleFrom: 1.0.0, description: Create table good }',
        '  - { id: bad, kind: sql, stage: in_stop, file: bad.sql, compatibleFrom: 1.0.0, description: Alter a missing table }',
        '  - { id: later, kind: sql, stage: post_start, file: good.sql, compatibleFrom: 1.0.0, description: Never reached }',
        '',
      ].join('\n'),
      'versions/1.1.0/good.sql': 'CREATE TABLE good (id INTEGER);\n',
      'versions/1.1.0/bad.sql': 'ALTER TABLE missing ADD COLUMN x INTEGER;\n',
    });
    const env = { ...process.env, NO_COLOR: '1', UPGRADEKIT_CONFIG: relaxed } as Record<
      string,
      string | undefined
    >;
    delete env.CI;
    // `script` gives the CLI a real pseudo-terminal; its output is the terminal's stream.
    const command = `stty cols 120 rows 40; ${process.execPath} ${bin} run --release ${dir} --from 1.0.0 --to 1.1.0`;
    const r = spawnSync('script', ['-qec', command, '/dev/null'], {
      cwd: dir,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const screen = r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '\n');
    expect(screen).toContain('✔ stage preUpgrade');
    expect(screen).toContain('✔ Create table good');
    expect(screen).toMatch(
      /✖ Alter a missing table: SQLITE_ERROR: no such table: missing — at versions\/1.1.0\/bad.sql:1, statement 1 of 1/,
    );
    expect(screen).toContain('↓ stage postStart (not reached)');
    expect(screen).toContain('stage preStart: failed');
    expect(screen).not.toContain('[preUpgrade] stage preUpgrade started'); // no event lines under the list
  });
});

describe('the assessment', () => {
  const config = (dir: string, memoryBytes: number) => {
    writeFileSync(
      join(dir, 'site.yaml'),
      `assessment:\n  thresholds: { cpuIdlePercent: 0, memoryBytes: ${Math.round(memoryBytes)} }\n`,
    );
    return ['--config', join(dir, 'site.yaml')];
  };
  const args = ['--release', demo, '--from', '2.16.6', '--to', '2.16.7'];

  it('assess: one JSON report, a Markdown file, exit 0 on pass', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'uk-assess-'));
    const r = cli(['assess', '--json', '--markdown', 'report.md', ...args], { cwd });
    expect(r.status, r.stderr).toBe(0);
    const doc = r.json() as {
      status: string;
      assessment: { verdict: string; compatibility: { mode: string }; resources: { checks: unknown[] } };
    };
    expect(doc.status).toBe('pass');
    expect(doc.assessment.verdict).toBe('pass');
    expect(doc.assessment.compatibility.mode).toBe('rolling');
    expect(doc.assessment.resources.checks.length).toBeGreaterThanOrEqual(3);
    expect(readFileSync(join(cwd, 'report.md'), 'utf8')).toContain(
      '## Upgrade assessment: demo-shop 2.16.6 → 2.16.7',
    );
  });

  it('a failed assessment stops a whole run before anything runs (exit 1)', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'uk-assess-fail-'));
    const r = cli(['run', ...config(cwd, memAvailable() * 4), ...args], { cwd });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/\[FAIL\] Free memory on local/);
    expect(r.stderr).toContain('The assessment failed: nothing was run.');
    const db = sqlite(join(cwd, '.upgradekit/main.sqlite'));
    const tables: Array<{ name: string }> = await db('sqlite_master').where({ type: 'table' }).select('name');
    await db.destroy();
    expect(tables.filter((t) => !t.name.startsWith('upgradekit_'))).toEqual([]);
  });

  it('warnings need --yes off a terminal (exit 3), then the run goes ahead', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'uk-assess-warn-'));
    const warn = config(cwd, memAvailable() * 1.4);
    const refused = cli(['run', ...warn, ...args], { cwd });
    expect(refused.status).toBe(3);
    expect(refused.stdout).toMatch(/\[WARN\] Free memory on local/);
    expect(refused.stderr).toContain('Confirm with --yes');
    const accepted = cli(['run', '--yes', ...warn, ...args], { cwd });
    expect(accepted.status, accepted.stderr).toBe(0);
    expect(accepted.stdout).toContain('demo-shop 2.16.6 → 2.16.7 on site default: succeeded');
  });

  describe('with both cores of this machine busy (two busy loops), as on a shared CI runner', () => {
    let loops: ChildProcess[] = [];
    beforeAll(() => {
      loops = [0, 1].map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
    });
    afterAll(() => {
      for (const loop of loops) loop.kill('SIGKILL');
    });

    it("the README's first command succeeds: this machine only orchestrates, its CPU is not judged", () => {
      const cwd = mkdtempSync(join(tmpdir(), 'uk-busy-'));
      // No relaxed thresholds: the defaults a newcomer has.
      const r = cli(['run', ...args], { cwd, env: { UPGRADEKIT_CONFIG: undefined } });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(
        /\[SKIP\] CPU idle on local: [\d.]+% idle, not judged: this machine only orchestrates/,
      );
      expect(r.stdout).toContain('demo-shop 2.16.6 → 2.16.7 on site default: succeeded');
    });

    it('where it runs the components, a busy CPU fails the assessment, naming --accept; --accept takes it for this run', () => {
      const cwd = mkdtempSync(join(tmpdir(), 'uk-busy-host-'));
      writeFileSync(
        join(cwd, 'site.yaml'),
        'assessment:\n  localIsHost: true\n  thresholds: { cpuIdlePercent: 100 }\n',
      );
      const site = ['--config', join(cwd, 'site.yaml')];
      const refused = cli(['run', ...site, ...args], { cwd });
      expect(refused.status).toBe(1);
      expect(refused.stdout).toMatch(/\[FAIL\] CPU idle on local: [\d.]+% idle of \d+ CPUs \(need ≥ 100%\)/);
      expect(refused.stdout).toContain('--accept resources.local.cpu');
      const accepted = cli(['run', ...site, '--accept', 'resources.local.cpu', ...args], { cwd });
      expect(accepted.status, accepted.stdout + accepted.stderr).toBe(0);
      expect(accepted.stdout).toMatch(/\[FAIL\] CPU idle on local: .* — accepted for this run/);
      expect(accepted.stdout).toContain('demo-shop 2.16.6 → 2.16.7 on site default: succeeded');
    });
  });

  it('a single --stage (a CI cut-point) does not assess: CI runs `assess` as its own step', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'uk-assess-stage-'));
    const r = cli(['run', '--stage', 'preUpgrade', ...config(cwd, memAvailable() * 4), ...args], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('Assessment of');
    expect(r.stdout).toContain('[SUCCESS] Create the order_notes table');
  });
});

describe('bad input: exit 2, the file, line and field, nothing executed', () => {
  it('a missing required option', () => {
    const r = cli(['run', '--release', demo, '--to', '2.16.7']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--from is required for run: the version running now, e.g. 2.16.5');
  });

  it('a version that is not one', () => {
    const r = cli(['plan', '--json', '--release', demo, '--from', 'two', '--to', '2.16.7']);
    expect(r.status).toBe(2);
    const doc = r.json() as { ok: boolean; error: { code: string; message: string } };
    expect(doc.ok).toBe(false);
    // Checked with every other input problem at once, under the option's own name (issue 19).
    expect(doc.error.code).toBe('UPGRADEKIT_BAD_INPUT');
    expect(doc.error.message).toContain('--from "two" is not a version');
  });

  it('a misspelt stage', () => {
    const r = cli(['run', '--release', demo, '--from', '2.16.6', '--to', '2.16.7', '--stage', 'preStrat']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('preStrat');
  });

  it("tasks.yaml's stage names are accepted: --stage in_stop runs preStart", () => {
    const args = ['run', '--release', demo, '--from', '2.16.6', '--to', '2.16.7', '--dry-run'];
    const alias = cli([...args, '--stage', 'in_stop', '--json']);
    const canonical = cli([...args, '--stage', 'preStart', '--json']);
    expect(alias.status, alias.stderr).toBe(0);
    const steps = JSON.parse(alias.stdout).steps as { stage: string }[];
    expect(steps.length).toBeGreaterThan(0);
    expect(new Set(steps.map((s) => s.stage))).toEqual(new Set(['preStart']));
    expect(JSON.parse(alias.stdout).steps).toEqual(JSON.parse(canonical.stdout).steps);
    const typo = cli([...args, '--stage', 'in_stp']);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toMatch(/did you mean "in_stop"\?/);
    expect(typo.stderr).toContain('preStart (in_stop)');
  });

  it('a broken release names file and line', () => {
    const dir = writeTree(mkdtempSync(join(tmpdir(), 'uk-bad-')), {
      'upgradekit.yaml':
        'component: x\ndatasources:\n  main: { type: sqlite }\ndefaults: { datasource: main }\n',
      'versions/1.1.0/tasks.yaml': 'tasks:\n  - id: a\n    kind: sql\n    stage: in-stop\n    file: a.sql\n',
      'versions/1.1.0/a.sql': 'SELECT 1;\n',
    });
    const r = cli(['run', '--release', dir, '--from', '1.0.0', '--to', '1.1.0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/versions\/1\.1\.0\/tasks\.yaml:4:\d+ tasks\[0\]\.stage/);
    expect(r.stderr).toContain('nothing was run');
  });

  it('a password written in the site config is refused, naming the line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'uk-cfg-'));
    writeFileSync(
      join(dir, 'site.yaml'),
      'site: s1\ndatasources:\n  main:\n    host: 127.0.0.1\n    database: app\n    password: hunter22\n',
    );
    const r = cli(
      ['plan', '--config', 'site.yaml', '--release', demo, '--from', '2.16.6', '--to', '2.16.7'],
      {
        cwd: dir,
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('site.yaml:6 datasources.main.password');
    expect(r.stderr).toContain('passwordEnv or passwordFile');
    expect(r.stderr).not.toContain('hunter22');
  });

  it('a datasource with no connection, or an unset password variable, stops before anything runs', () => {
    const dir = writeTree(mkdtempSync(join(tmpdir(), 'uk-ds-')), {
      'release/upgradekit.yaml':
        'component: x\ndatasources:\n  main: { type: mariadb }\ndefaults: { datasource: main }\n',
      'release/versions/1.1.0/tasks.yaml':
        'tasks:\n  - { id: a, kind: sql, stage: pre_stop, file: a.sql, compatibleFrom: 1.0.0 }\n',
      'release/versions/1.1.0/a.sql': 'CREATE TABLE a (id INT);\n',
      'site.yaml':
        'datasources:\n  main: { host: 127.0.0.1, database: app, passwordEnv: UK_TEST_UNSET_PW }\n',
    });
    const none = cli(['run', '--release', 'release', '--from', '1.0.0', '--to', '1.1.0'], { cwd: dir });
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('datasource "main" (mariadb) of release x has no connection');
    const unset = cli(
      ['run', '--config', 'site.yaml', '--release', 'release', '--from', '1.0.0', '--to', '1.1.0'],
      {
        cwd: dir,
      },
    );
    expect(unset.status).toBe(2);
    expect(unset.stderr).toContain(
      'site.yaml:2 datasources.main.passwordEnv: the environment variable UK_TEST_UNSET_PW is not set',
    );
    expect(existsSync(join(dir, '.upgradekit/state.sqlite'))).toBe(false);
  });
});

describe('operator decisions: exit 3', () => {
  it('tasks without a compatibility annotation need --yes off a terminal (and, making it a stop-mode upgrade, --services external or --stage)', () => {
    const dir = writeTree(mkdtempSync(join(tmpdir(), 'uk-confirm-')), {
      'upgradekit.yaml':
        'component: x\ndatasources:\n  main: { type: sqlite }\ndefaults: { datasource: main }\n',
      'versions/1.1.0/tasks.yaml': 'tasks:\n  - { id: a, kind: sql, stage: in_stop, file: a.sql }\n',
      'versions/1.1.0/a.sql': 'CREATE TABLE a (id INTEGER);\n',
    });
    const args = ['run', '--release', dir, '--from', '1.0.0', '--to', '1.1.0'];
    const whole = cli(args, { cwd: dir });
    expect(whole.status).toBe(3); // a decision (who stops the services), not bad input
    expect(whole.stderr).toContain('needs its services stopped (stop mode)');
    // Nothing ran, so nothing on stdout: the state line follows the explanation, not before it.
    expect(whole.stdout).toBe('');
    expect(whole.stderr.trimEnd().split('\n').at(-1)).toMatch(/^ {2}state: SQLite file /);
    const refused = cli([...args, '--stage', 'preStart'], { cwd: dir });
    expect(refused.status).toBe(3);
    expect(refused.stderr).toContain('Confirm with --yes');
    const yes = cli([...args, '--stage', 'preStart', '--yes'], { cwd: dir });
    expect(yes.status, yes.stderr).toBe(0);
    expect(yes.stdout).toContain('[SUCCESS] versions/1.1.0/a.sql');
  });

  describe('an orchestration override that runs a task ahead of an older version’s task it needs', () => {
    // 1.2.0's ALTER moved to pre_stop; 1.1.0 creates the table in in_stop. 1.1.0 → 1.2.0 is fine;
    // 1.0.0 → 1.2.0 runs the ALTER first.
    const release = writeTree(mkdtempSync(join(tmpdir(), 'uk-order-')), {
      'upgradekit.yaml':
        'component: x\ndatasources:\n  main: { type: sqlite }\ndefaults: { datasource: main }\n',
      'versions/1.1.0/upgrade_tasks_V1.1.0.properties': [
        'sql.001.id=create_t',
        'sql.001.file=t.sql',
        'sql.001.stage=in_stop',
        'sql.001.compatible_version=1.0.0',
        '',
      ].join('\n'),
      'versions/1.1.0/t.sql': 'CREATE TABLE t (id INTEGER);\n',
      'versions/1.2.0/upgrade_tasks_V1.2.0.properties': [
        'sql.001.id=add_note',
        'sql.001.file=note.sql',
        'sql.001.stage=in_stop',
        'sql.001.compatible_version=1.0.0',
        '',
      ].join('\n'),
      'versions/1.2.0/note.sql': 'ALTER TABLE t ADD COLUMN note TEXT;\n',
      'versions/1.2.0/upgrade_orchestration_V1.2.0.properties':
        '# before the stop\nsql.add_note.stage=pre_stop\n',
    });
    const args = ['--release', release, '--from', '1.0.0', '--to', '1.2.0'];
    const warning =
      'add_note (1.2.0) runs in pre_stop (preUpgrade), set by versions/1.2.0/upgrade_orchestration_V1.2.0.properties:2, before older work on datasource main it may need: create_t (1.1.0, in_stop)';
    const tables = async (cwd: string) => {
      const db = sqlite(join(cwd, '.upgradekit/main.sqlite'));
      try {
        const rows: Array<{ name: string }> = await db('sqlite_master')
          .where({ type: 'table' })
          .select('name');
        return rows.map((r) => r.name).filter((n) => !n.startsWith('upgradekit_'));
      } finally {
        await db.destroy();
      }
    };

    it('plan warns, in text and JSON; one version at a time it does not', () => {
      const text = cli(['plan', ...args]);
      expect(text.status, text.stderr).toBe(0);
      expect(text.stdout).toContain(`WARNING — tasks run ahead of older versions' work they may need`);
      expect(text.stdout).toContain(`    - ${warning}`);
      const json = cli(['plan', '--json', ...args]);
      expect((json.json().plan as { orderWarnings: unknown }).orderWarnings).toEqual([
        expect.objectContaining({ code: 'PLAN_STAGE_ORDER', message: warning }),
      ]);
      const single = cli(['plan', '--json', '--release', release, '--from', '1.1.0', '--to', '1.2.0']);
      expect((single.json().plan as { orderWarnings: unknown }).orderWarnings).toEqual([]);
    });

    it('run refuses it with exit 3 and changes nothing, whole or at the stage; --yes runs it', async () => {
      const cwd = mkdtempSync(join(tmpdir(), 'uk-order-run-'));
      const whole = cli(['run', ...args], { cwd });
      expect(whole.status, whole.stderr).toBe(3);
      expect(whole.stdout).toContain('[WARN] Task order across versions');
      const stage = cli(['run', '--stage', 'preUpgrade', ...args], { cwd });
      expect(stage.status, stage.stderr).toBe(3);
      expect(stage.stderr).toContain(`task order across versions: ${warning}`);
      expect(stage.stderr).toContain('Nothing was run');
      expect(stage.stderr).toContain('Confirm with --yes');
      const json = cli(['run', '--json', '--stage', 'preUpgrade', ...args], { cwd });
      expect(json.status).toBe(3);
      expect(json.json()).toMatchObject({
        status: 'needs-decision',
        reason: "tasks that run ahead of older versions' work need confirmation (--yes)",
        orderWarnings: [{ task: { id: 'add_note' }, runsBefore: [{ id: 'create_t' }] }],
      });
      expect(await tables(cwd)).toEqual([]);
      // Confirmed, it runs in that order — and fails just as the warning said it might.
      const yes = cli(['run', '--yes', '--stage', 'preUpgrade', ...args], { cwd });
      expect(yes.status).toBe(1);
      expect(yes.stdout).toContain('no such table: t');
    });

    it('a stage that does not start the moved task needs no confirmation', async () => {
      const cwd = mkdtempSync(join(tmpdir(), 'uk-order-stage-'));
      const r = cli(['run', '--stage', 'preStart', ...args], { cwd });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('task order across versions');
      expect(await tables(cwd)).toEqual(['t']);
    });
  });

  it('SIGKILL mid-step leaves it in doubt (exit 3) until resolve; then the run completes', () => {
    const dir = writeTree(mkdtempSync(join(tmpdir(), 'uk-kill-')), {
      'upgradekit.yaml':
        'component: x\ndatasources:\n  main: { type: sqlite }\ndefaults: { datasource: main }\n',
      'versions/1.1.0/tasks.yaml': [
        'tasks:',
        '  - { id: before, kind: sql, stage: pre_stop, file: before.sql, compatibleFrom: 1.0.0 }',
        '  - { id: dies_once, kind: tool, stage: in_stop, package: ./die.mjs, compatibleFrom: 1.0.0 }',
        '  - { id: after, kind: sql, stage: post_start, file: after.sql, compatibleFrom: 1.0.0 }',
        '',
      ].join('\n'),
      'versions/1.1.0/before.sql': 'CREATE TABLE before_t (id INTEGER);\n',
      'versions/1.1.0/after.sql': 'CREATE TABLE after_t (id INTEGER);\n',
      'versions/1.1.0/die.mjs': `import { existsSync, writeFileSync } from 'node:fs';
export default { run() {
  if (!existsSync('died')) { writeFileSync('died', ''); process.kill(process.pid, 'SIGKILL'); }
} };\n`,
    });
    const args = ['--release', dir, '--from', '1.0.0', '--to', '1.1.0'];
    const killed = cli(['run', ...args], { cwd: dir });
    expect(killed.signal).toBe('SIGKILL');
    // Status knows at once, before any run: the run was interrupted, the tool is in doubt.
    const right = cli(['status', ...args], { cwd: dir });
    expect(right.status).toBe(3);
    expect(right.stdout).toMatch(
      /^ {2}INTERRUPTED: run \S+ \(\S+, pid \d+\) stopped without finishing — its process is dead: /m,
    );
    expect(right.stdout).toMatch(
      /^ {2}IN_DOUBT {4}preStart {6}dies_once — interrupted in run \S+ and may or may not have taken effect/m,
    );
    const doubt = cli(['run', '--json', ...args], { cwd: dir });
    expect(doubt.status).toBe(3);
    expect((doubt.json() as { status: string }).status).toBe('needs-decision');
    // Said once, in words to act on; no "running it again" for a step that is then in doubt.
    expect(doubt.stderr.split('It is not idempotent and has no skipIf check').length - 1).toBe(1);
    expect(doubt.stderr.split('An operator must decide about dies_once').length - 1).toBe(1);
    expect(doubt.stderr).not.toMatch(/running it again|; idempotent|; resumes|not retried/);
    expect(doubt.stderr).toContain(
      `If dies_once took effect: upgradekit resolve dies_once --applied --release ${dir} --from 1.0.0 --to 1.1.0 --config ${relaxed}\n`,
    );
    const status = cli(['status', ...args], { cwd: dir });
    expect(status.status).toBe(3);
    expect(status.stdout).toMatch(/IN_DOUBT\s+preStart\s+dies_once/);
    const neither = cli(['resolve', 'dies_once', ...args], { cwd: dir });
    expect(neither.status).toBe(2);
    const resolved = cli(['resolve', 'dies_once', '--applied', ...args], { cwd: dir });
    expect(resolved.status, resolved.stderr).toBe(0);
    const done = cli(['run', ...args], { cwd: dir });
    expect(done.status, done.stderr).toBe(0);
    expect(done.stdout).toContain('[SUCCESS] versions/1.1.0/after.sql');
    expect(done.stdout).toContain('[SKIPPED] versions/1.1.0/before.sql'); // succeeded before the kill
    expect(done.stdout).not.toContain('[SUCCESS] versions/1.1.0/before.sql');
  });
});

describe('init', () => {
  it('scaffolds a release that plans and runs; never overwrites', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'uk-init-'));
    const r = cli(['init', 'rel', '--component', 'billing', '--first-version', '3.1.0'], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(cwd, 'rel/upgradekit.yaml'), 'utf8')).toContain('component: billing');
    const run = cli(['run', '--release', 'rel', '--from', '3.0.0', '--to', '3.1.0'], { cwd });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('[SUCCESS] An example table');
    // The example site configuration is valid, and so is its backup section once uncommented.
    const example = readFileSync(join(cwd, 'rel/site.example.yaml'), 'utf8');
    writeFileSync(
      join(cwd, 'site.yaml'),
      example
        .replace(/^# backup:/m, 'backup:')
        .replace(/^# {3}/gm, '  ')
        .replace('root: /backup', 'root: backups'),
    );
    const list = cli(['rollback', 'list', '--json', '--config', 'site.yaml', '--release', 'rel'], { cwd });
    expect(list.status, list.stderr).toBe(0);
    expect(list.json()).toMatchObject({ component: 'billing', site: 'site-001', backups: [] });
    const again = cli(['init', 'rel', '--component', 'billing'], { cwd });
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('is not empty');
    const badVersion = cli(['init', 'other', '--component', 'billing', '--first-version', 'latest'], { cwd });
    expect(badVersion.status).toBe(2);
    expect(existsSync(join(cwd, 'other'))).toBe(false);
  });
});

const hasMariaDB = await requireService('mariadb');

describe.runIf(hasMariaDB)('a MariaDB datasource from the site configuration', () => {
  const user = `uk_cli_${process.pid}`;
  const password = `pw-${Math.random().toString(36).slice(2)}-secret`;
  const target = suiteMariaDbAccount('uk_cli', user, password);

  it('connects with the password from the environment and never prints it', async () => {
    const c = target.connection;
    const dir = writeTree(mkdtempSync(join(tmpdir(), 'uk-maria-')), {
      'release/upgradekit.yaml':
        'component: orders\ndatasources:\n  main: { type: mariadb }\ndefaults: { datasource: main }\n',
      'release/versions/2.0.0/tasks.yaml':
        'tasks:\n  - { id: t1, kind: sql, stage: in_stop, file: t1.sql, compatibleFrom: 1.0.0 }\n',
      'release/versions/2.0.0/t1.sql':
        'CREATE TABLE t1 (id INT PRIMARY KEY);\nINSERT INTO t1 VALUES (1), (2);\n',
      'site.yaml': `site: site-7\nassessment: { thresholds: { cpuIdlePercent: 0 } }\ndatasources:\n  main: { host: ${c.host}, port: ${c.port}, user: ${user}, database: ${c.database}, passwordEnv: UK_TEST_PW }\n`,
    });
    const args = ['--config', 'site.yaml', '--release', 'release', '--from', '1.0.0', '--to', '2.0.0'];
    const r = cli(['run', '--json', '--verbose', ...args], { cwd: dir, env: { UK_TEST_PW: password } });
    expect(r.status, r.stderr).toBe(0);
    expect((r.json() as { status: string }).status).toBe('succeeded');
    const knex = knexFactory(target.config);
    expect(await knex('t1').count({ n: '*' }).first()).toMatchObject({ n: 2 });
    await knex.destroy();
    expect(r.stdout + r.stderr).not.toContain(password);
    // A wrong password (fresh state, so the task must connect): exit 1, the cause named, no secret.
    // --yes: the assessment warns that it cannot size the backup (the same cause); go on to the task.
    const wrong = cli(
      ['run', '--yes', ...args, '--config', join(dir, 'site.yaml'), '--release', join(dir, 'release')],
      {
        cwd: mkdtempSync(join(tmpdir(), 'uk-maria-wrong-')),
        env: { UK_TEST_PW: `${password}-wrong` },
      },
    );
    expect(wrong.status, wrong.stdout + wrong.stderr).toBe(1);
    expect(wrong.stdout + wrong.stderr).toContain('Access denied');
    // Issue 19: an environment failure (exit 1), checked before anything runs, naming the datasource
    // and the line that configures it.
    expect(wrong.stderr).toMatch(/UPGRADEKIT_CONNECTION: datasource "main" \(mariadb, uk_cli_\d+@/);
    expect(wrong.stderr).toMatch(/site\.yaml:4 datasources\.main/);
    expect(wrong.stdout + wrong.stderr).not.toMatch(/^\s+at /m); // no stack traces
    expect(wrong.stdout + wrong.stderr).not.toContain(password);
    // An undefined CI secret: the variable is there but empty. The refusal says so.
    const empty = cli(['run', '--yes', ...args], {
      cwd: dir,
      env: { UK_TEST_PW: '' },
    });
    expect(empty.status, empty.stderr).toBe(1);
    expect(empty.stderr).toContain('the environment variable UK_TEST_PW (passwordEnv) is empty');
  });

  it('a state database that does not exist is an environment failure (exit 1), like a datasource one', () => {
    const c = target.connection;
    const dir = writeTree(mkdtempSync(join(tmpdir(), 'uk-maria-state-')), {
      'release/upgradekit.yaml':
        'component: orders\ndatasources:\n  main: { type: mariadb }\ndefaults: { datasource: main }\n',
      'release/versions/2.0.0/tasks.yaml':
        'tasks:\n  - { id: t2, kind: sql, stage: pre_stop, file: t2.sql, compatibleFrom: 1.0.0 }\n',
      'release/versions/2.0.0/t2.sql': 'CREATE TABLE t2 (id INT PRIMARY KEY);\n',
      'site.yaml': `assessment: { thresholds: { cpuIdlePercent: 0 } }\ndatasources:\n  main: { host: ${c.host}, port: ${c.port}, user: ${user}, database: ${c.database}, passwordEnv: UK_TEST_PW }\nstate: { client: mariadb, host: ${c.host}, port: ${c.port}, user: ${user}, database: no_such_state_db, passwordEnv: UK_TEST_PW }\n`,
    });
    const r = cli(
      ['run', '--yes', '--config', 'site.yaml', '--release', 'release', '--from', '1.0.0', '--to', '2.0.0'],
      {
        cwd: dir,
        env: { UK_TEST_PW: password },
      },
    );
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain('UPGRADEKIT_CONNECTION');
    expect(r.stderr).toContain('no_such_state_db');
    expect(r.stderr).not.toContain(password);
  });
});
