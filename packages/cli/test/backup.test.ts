// `upgradekit backup` and `upgradekit rollback …` as an operator runs them: the built bin, a real
// MariaDB, a real service process stopped by SIGTERM and started again until its health URL answers.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  freePort,
  requireService,
  type SshdHost,
  silentServer,
  startSshd,
  type TestDatabase,
} from '#test-support';
import { alive, bin, cli, sqlite, writeTree } from './support.js';

const hasMariaDB = await requireService('mariadb');

type Doc = Record<string, unknown>;
type Step = { step: number; status: string };

describe.runIf(hasMariaDB)('upgradekit backup and rollback, on MariaDB', () => {
  let db: TestDatabase;
  let dir: string;
  let port: number;
  const pidFile = () => join(dir, 'run/app.pid');
  const env = () => ({ UK_DB_PW: db.connection.password });
  const upgrade = ['--config', 'site.yaml', '--release', 'release', '--from', '1.0.0', '--to', '2.0.0'];
  const site = ['--config', 'site.yaml', '--release', 'release'];
  const values = async () => {
    const knex = knexFactory(db.config);
    try {
      const rows = await knex('t1').orderBy('id').pluck('v');
      return { v: rows.map(Number), t2: await knex.schema.hasTable('t2') };
    } finally {
      await knex.destroy();
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase('mariadb', 'ukbk');
    const knex = knexFactory(db.config);
    await knex.raw('CREATE TABLE t1 (id INT PRIMARY KEY, v INT)');
    await knex('t1').insert([
      { id: 1, v: 1 },
      { id: 2, v: 2 },
    ]);
    await knex.destroy();
    port = await freePort();
    const c = db.connection;
    dir = writeTree(mkdtempSync(join(tmpdir(), 'uk-backup-cli-')), {
      'release/upgradekit.yaml':
        'component: orders\ndatasources:\n  main: { type: mariadb }\ndefaults: { datasource: main }\n',
      'release/versions/2.0.0/tasks.yaml':
        'tasks:\n  - { id: t1, kind: sql, stage: in_stop, file: t1.sql, compatibleFrom: 1.0.0 }\n',
      'release/versions/2.0.0/t1.sql': 'CREATE TABLE t2 (id INT PRIMARY KEY);\nUPDATE t1 SET v = 99;\n',
      'app/VERSION': '1.0.0\n',
      'app/logs/old.log': 'before the upgrade\n',
      'etc/app.conf': 'mode=1\n',
      'run/.keep': '',
      // The service: answers its health URL until SIGTERM.
      'server.cjs':
        "require('node:http').createServer((q, r) => r.end('ok')).listen(Number(process.argv[2]), '127.0.0.1');\n",
      'site.yaml': [
        'site: site-9',
        'assessment: { thresholds: { cpuIdlePercent: 0 } }',
        'datasources:',
        `  main: { host: ${c.host}, port: ${c.port}, user: ${c.user}, database: ${c.database}, passwordEnv: UK_DB_PW }`,
        'backup:',
        '  root: backups',
        '  programDir: app',
        '  config: { root: ., paths: [etc/app.conf] }',
        '  services:',
        '    stop: { pidFile: run/app.pid, graceMs: 5000 }',
        `    start: { command: [${JSON.stringify(process.execPath)}, server.cjs, "${port}"], cwd: ., log: run/app.log, pidFile: run/app.pid, timeoutMs: 20000 }`,
        `    health: http://127.0.0.1:${port}/`,
        '',
      ].join('\n'),
    });
  });

  afterAll(async () => {
    if (dir && existsSync(pidFile())) {
      const pid = Number(readFileSync(pidFile(), 'utf8'));
      if (pid > 1 && alive(pid)) process.kill(pid, 'SIGKILL');
    }
    await db?.drop();
  });

  it('plan says the run backs up first', () => {
    const plan = cli(['plan', '--json', ...upgrade], { cwd: dir });
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.json()).toMatchObject({ backup: { root: join(dir, 'backups') } });
  });

  it('backs up, upgrades, rolls everything back, and the next run upgrades again', async () => {
    const backup = cli(['backup', '--json', ...upgrade], { cwd: dir, env: env() });
    expect(backup.status, backup.stderr).toBe(0);
    const made = backup.json() as Doc & { backupId: string; dir: string };
    expect(made.status).toBe('completed');
    expect(made.backupId).toMatch(/^backup_\d{8}_\d{6}$/);
    for (const file of ['database_backup.sql', 'program_directory.tar.gz', 'system_config.tar.gz'])
      expect(statSync(join(made.dir, file)).mode & 0o777).toBe(0o600);

    // The run's own backup step finds that verified backup and skips (seed 004 §4.2.3.3).
    const run = cli(['run', '--json', '--yes', ...upgrade], { cwd: dir, env: env() });
    expect(run.status, run.stderr).toBe(0);
    const stages = (run.json() as { stages: { stage: string; steps: { id: string; status: string }[] }[] })
      .stages;
    expect(stages.find((s) => s.stage === 'preUpgrade')?.steps).toEqual([
      expect.objectContaining({ id: 'backup', status: 'skipped' }),
    ]);
    expect(await values()).toEqual({ v: [99, 99], t2: true });
    // The SQL task is recorded as changing data, the backup step not: what a compatible rollback keeps.
    const state = sqlite(join(dir, '.upgradekit/state.sqlite'));
    const recorded = await state('upgradekit_steps').select('task_id', 'changes_data').orderBy('task_id');
    await state.destroy();
    expect(recorded.map((r) => [r.task_id, Boolean(r.changes_data)])).toEqual([
      ['backup', false],
      ['t1', true],
    ]);

    // The new version is installed and running; it writes a log the rollback must keep.
    writeFileSync(join(dir, 'app/VERSION'), '2.0.0\n');
    writeFileSync(join(dir, 'app/logs/new.log'), 'written by 2.0.0\n');
    writeFileSync(join(dir, 'etc/app.conf'), 'mode=2\n');
    const old = spawn(process.execPath, [join(dir, 'server.cjs'), String(port)], {
      detached: true,
      stdio: 'ignore',
    });
    // Listen now: the worker reaps the child (and reports how it ended) only once its loop turns.
    const exited = once(old, 'exit');
    writeFileSync(pidFile(), `${old.pid}\n`);
    await new Promise((r) => setTimeout(r, 300));

    const rollback = cli(['rollback', 'auto', '--json', ...site], { cwd: dir, env: env() });
    expect(rollback.status, rollback.stderr).toBe(0);
    const result = rollback.json() as Doc & { steps: Step[] };
    expect(result.status).toBe('completed');
    expect(result.mode).toBe('full');
    // Judged from the release: t1 is not marked additive, so the data is restored too.
    expect(rollback.stderr).toContain(
      'full rollback: task t1 (2.0.0) of 1.0.0 → 2.0.0 is not marked additive',
    );
    expect(result.steps.map((s) => s.status)).toEqual(Array(6).fill('succeeded'));

    expect((await exited)[1]).toBe('SIGTERM'); // step 1 stopped it gracefully
    const started = Number(readFileSync(pidFile(), 'utf8'));
    expect(started).not.toBe(old.pid);
    expect(alive(started)).toBe(true);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok');
    expect(await values()).toEqual({ v: [1, 2], t2: false });
    expect(readFileSync(join(dir, 'app/VERSION'), 'utf8')).toBe('1.0.0\n');
    expect(readFileSync(join(dir, 'etc/app.conf'), 'utf8')).toBe('mode=1\n');
    expect(readFileSync(join(dir, 'app/logs/new.log'), 'utf8')).toBe('written by 2.0.0\n');

    // The steps the restore undid are pending again, so upgrading again is not "nothing to do".
    const status = cli(['status', '--json', ...site], { cwd: dir, env: env() });
    expect(status.status, status.stderr).toBe(0);
    expect((status.json() as { report: { counts: { pending: number } } }).report.counts.pending).toBe(2);
    const again = cli(['run', '--json', '--yes', ...upgrade], { cwd: dir, env: env() });
    expect(again.status, again.stderr).toBe(0);
    expect(await values()).toEqual({ v: [99, 99], t2: true });

    // Without --release, the component named on the command line.
    const list = cli(['rollback', 'list', '--json', '--config', 'site.yaml', '--component', 'orders'], {
      cwd: dir,
    });
    expect(list.status, list.stderr).toBe(0);
    const listed = list.json() as { backups: { backupId: string }[]; history: { status: string }[] };
    expect(listed.backups.map((b) => b.backupId)).toEqual([made.backupId]);
    expect(listed.history.map((h) => h.status)).toEqual(['completed']);
  });

  it('goes step by step in manual mode; status exits 3 and names the next step', async () => {
    const manual = cli(['rollback', 'manual', '--json', ...site], { cwd: dir, env: env() });
    expect(manual.status, manual.stderr).toBe(0);
    expect(manual.json()).toMatchObject({ status: 'in-progress', nextStep: 1 });

    const status = cli(['rollback', 'status', ...site], { cwd: dir });
    expect(status.status).toBe(3);
    expect(status.stdout).toContain(
      'Next, one of:\n  upgradekit rollback step 1 --release release --config site.yaml\n',
    );

    const outOfOrder = cli(['rollback', 'step', '3', ...site], { cwd: dir, env: env() });
    expect(outOfOrder.status).toBe(2);
    expect(outOfOrder.stderr).toContain('step 3 needs step 1');
    expect(await values()).toEqual({ v: [99, 99], t2: true });

    // The seed's spelling (004 §4.4.2.2) works too.
    const stop = cli(['rollback', 'step1', '--json', ...site], { cwd: dir, env: env() });
    expect(stop.status, stop.stderr).toBe(0);
    expect(stop.json()).toMatchObject({ status: 'in-progress', nextStep: 2 });

    const rest = cli(['rollback', 'auto_continue_from', '2', '--json', ...site], { cwd: dir, env: env() });
    expect(rest.status, rest.stderr).toBe(0);
    expect(rest.json()).toMatchObject({ status: 'completed', type: 'manual' });
    expect(await values()).toEqual({ v: [1, 2], t2: false });
  });

  it('refuses bad input before touching anything, with the field or file to fix', async () => {
    const both = cli(['rollback', 'auto', '--compatible', '--full', ...site], { cwd: dir });
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('--compatible and --full: give one or the other');

    const notAnId = cli(['rollback', 'auto', '../../etc', ...site], { cwd: dir });
    expect(notAnId.status).toBe(2);
    expect(notAnId.stderr).toContain('"../../etc" is not a backup id');

    const badStep = cli(['rollback', 'step', '9', ...site], { cwd: dir });
    expect(badStep.status).toBe(2);
    expect(badStep.stderr).toContain('a number from 1 to 6');

    // A site configuration of its own, backed up against this test's release.
    const backupWith = (yaml: string) => {
      const config = writeTree(mkdtempSync(join(tmpdir(), 'uk-backup-config-')), { 'site.yaml': yaml });
      const release = join(dir, 'release');
      return cli([
        'backup',
        '--config',
        join(config, 'site.yaml'),
        '--release',
        release,
        '--from',
        '1.0.0',
        '--to',
        '2.0.0',
      ]);
    };
    const none = backupWith('site: s\n');
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('has no backup: section');

    const named = backupWith('backup: { root: /tmp/x, databases: [nope] }\n');
    expect(named.status).toBe(2);
    expect(named.stderr).toContain('backup.databases[0]: "nope" is not a datasource of release orders');

    // A failed core step names the rollback command for this site.
    writeTree(dir, {
      'release/versions/3.0.0/tasks.yaml':
        'tasks:\n  - { id: broken, kind: sql, stage: in_stop, file: broken.sql, compatibleFrom: 2.0.0 }\n',
      'release/versions/3.0.0/broken.sql': 'ALTER TABLE no_such_table ADD COLUMN x INT;\n',
    });
    const failed = cli(['run', '--yes', ...site, '--from', '2.0.0', '--to', '3.0.0'], {
      cwd: dir,
      env: env(),
    });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain(
      'A core step failed: the upgrade stopped. Fix the cause and run again, or roll back with:\nupgradekit rollback auto --release release --config site.yaml\n',
    );

    // A damaged backup is refused with what is wrong with it, and nothing is restored.
    const { backups } = cli(['rollback', 'list', '--json', ...site], { cwd: dir }).json() as {
      backups: { dir: string }[];
    };
    truncateSync(join(backups[0]!.dir, 'database_backup.sql'), 100);
    const before = await values();
    const damaged = cli(['rollback', 'auto', '--json', ...site], { cwd: dir, env: env() });
    expect(damaged.status).toBe(2);
    expect(damaged.json()).toMatchObject({ ok: false, error: { code: 'UPGRADEKIT_BACKUP_INVALID' } });
    expect(damaged.stderr).toContain('database_backup.sql');
    expect(await values()).toEqual(before);
  });
});

const hasSshd = await requireService('sshd');

describe.runIf(hasSshd)('upgradekit backup and rollback on a site host, over SSH', () => {
  let sshd: SshdHost;
  let dir: string;
  let app: string;
  beforeAll(async () => {
    sshd = await startSshd({ host: '127.0.0.4' });
    dir = mkdtempSync(join(tmpdir(), 'uk-backup-ssh-'));
    // The "remote" host is this machine behind its own sshd: absolute paths, as on a real host.
    app = writeTree(mkdtempSync(join(tmpdir(), 'uk-backup-ssh-app-')), {
      VERSION: '1.0.0\n',
      'lib/core.jar': 'old code\n',
    });
    writeTree(dir, {
      'release/upgradekit.yaml': 'component: gateway\ndatasources: {}\n',
      'release/versions/2.0.0/tasks.yaml': 'tasks: []\n',
      'site.yaml': [
        'site: site-3',
        'hosts:',
        `  - { name: gw-1, host: ${sshd.host}, port: ${sshd.port}, user: ${sshd.user}, privateKeyPath: ${sshd.client.privateKeyPath}, knownHostsPath: ${sshd.knownHostsPath} }`,
        `backup: { root: ${join(dir, 'backups')}, host: gw-1, programDir: ${app} }`,
        '',
      ].join('\n'),
    });
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('backs up and restores the program directory on the host named by backup.host', () => {
    const args = ['--config', 'site.yaml', '--release', 'release'];
    const backup = cli(['backup', '--json', ...args, '--from', '1.0.0', '--to', '2.0.0'], { cwd: dir });
    expect(backup.status, backup.stderr).toBe(0);
    expect(backup.json()).toMatchObject({ status: 'completed', host: expect.stringContaining(sshd.host) });

    writeFileSync(join(app, 'VERSION'), '2.0.0\n');
    writeFileSync(join(app, 'lib/core.jar'), 'new code\n');
    const rollback = cli(['rollback', 'auto', '--json', ...args], { cwd: dir });
    expect(rollback.status, rollback.stderr).toBe(0);
    expect(rollback.json()).toMatchObject({ status: 'completed' });
    expect(readFileSync(join(app, 'VERSION'), 'utf8')).toBe('1.0.0\n');
    expect(readFileSync(join(app, 'lib/core.jar'), 'utf8')).toBe('old code\n');
  }, 120_000);

  it('Ctrl-C while the host does not answer ends the command at once, not after the SSH timeout', async () => {
    const silent = await silentServer('127.0.0.4'); // accepts TCP, never speaks SSH
    try {
      const hung = writeTree(mkdtempSync(join(tmpdir(), 'uk-backup-ssh-silent-')), {
        'site.yaml': readFileSync(join(dir, 'site.yaml'), 'utf8').replace(
          `port: ${sshd.port}`,
          `port: ${silent.port}`,
        ),
      });
      const child = spawn(
        process.execPath,
        [bin, 'rollback', 'list', '--config', 'site.yaml', '--release', join(dir, 'release')],
        {
          cwd: hung,
          env: { ...process.env, NO_COLOR: '1' },
        },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const ended = once(child, 'exit');
      // Connected means the command is past loading and waits for the SSH handshake.
      await silent.accepted;
      await new Promise((r) => setTimeout(r, 200));
      const interrupted = performance.now();
      child.kill('SIGINT');
      const [code] = await ended;
      expect(performance.now() - interrupted).toBeLessThan(10_000); // the SSH ready timeout is 20 s
      expect(code).toBe(1);
      expect(stderr).toMatch(/UPGRADEKIT_ABORTED: connecting to \S+ was interrupted/);
    } finally {
      await silent.close();
    }
  });

  it('an unknown host key is refused (strict by default), nothing is written', () => {
    const other = writeTree(mkdtempSync(join(tmpdir(), 'uk-backup-ssh-strict-')), {
      known_hosts: '',
      'site.yaml': readFileSync(join(dir, 'site.yaml'), 'utf8')
        .replace(sshd.knownHostsPath, 'known_hosts')
        .replace(join(dir, 'backups'), join(dir, 'backups-strict')),
    });
    const r = cli(
      [
        'backup',
        '--config',
        'site.yaml',
        '--release',
        join(dir, 'release'),
        '--from',
        '1.0.0',
        '--to',
        '2.0.0',
      ],
      {
        cwd: other,
      },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('UPGRADEKIT_HOST_KEY');
    expect(existsSync(join(dir, 'backups-strict'))).toBe(false);
  });
});
