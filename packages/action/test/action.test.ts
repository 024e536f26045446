// The Action as a runner starts it: the committed bundle, copied where no node_modules can help
// it, run by `node` with INPUT_* variables and temporary GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  LEDGER_RELEASE,
  requireService,
  siteYaml,
  suiteDatabase,
  type TestDatabase,
  writeFiles,
} from '#test-support';

import { action, committed, demo, root } from './support.js';

describe('the committed bundle', () => {
  it('is up to date with the sources (rebuild with `npm run bundle`)', () => {
    const fresh = join(mkdtempSync(join(tmpdir(), 'uk-action-fresh-')), 'index.mjs');
    const build = spawnSync(process.execPath, [join(root, 'packages/action/build.mjs'), fresh], {
      encoding: 'utf8',
    });
    expect(build.status, build.stderr).toBe(0);
    const same = readFileSync(fresh, 'utf8') === readFileSync(committed, 'utf8');
    expect(same, 'packages/action/dist/index.mjs is stale: run `npm run bundle` and commit it').toBe(true);
  });

  it('plan: outputs, a Markdown job summary and a JSON report, with no node_modules around', () => {
    const r = action({ command: 'plan', release: demo, from: '2.16.5', to: '2.16.7' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.outputs.status).toBe('planned');
    expect(r.outputs['upgrade-mode']).toBe('stop');
    expect(r.summary).toContain('### Plan: demo-shop 2.16.5 → 2.16.7 on site default — stop mode, 5 tasks');
    expect(r.summary).toContain(
      '| preStart | 2.16.6 | create_orders | sql | main | versions/2.16.6/sql/create_orders.sql |',
    );
    const report = JSON.parse(readFileSync(r.outputs.report as string, 'utf8')) as {
      plan: { tasks: unknown[] };
    };
    expect(report.plan.tasks).toHaveLength(5);
    // What was decided is in the log too (Gitea before 1.27 shows no summary).
    expect(r.stdout).toContain('demo-shop 2.16.5 → 2.16.7 on site default: 5 tasks, stop mode');
  });

  it('bad inputs: every problem at once, as a failure; on Gitea also a plain line', () => {
    const r = action({ command: 'deploy', from: '1.0.0' }, { GITEA_ACTIONS: 'true' });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('::error::UPGRADEKIT_BAD_INPUT: Invalid inputs of the upgradekit action');
    expect(r.stdout).toContain(
      '`command` must be one of plan, assess, run, status, resolve, backup, rollback (got "deploy")',
    );
    expect(r.stdout).toContain('`release` is required');
    expect(r.stdout).toMatch(/^ERROR upgradekit: UPGRADEKIT_BAD_INPUT: Invalid inputs/m);
    expect(r.stdout).not.toContain('`to` is required');
    // The status says why, for a later step's `if:`; nothing else ran.
    expect(r.outputs.status).toBe('bad-input');
    expect(r.outputs['upgrade-mode']).toBeUndefined();
  });

  it('no summary file (GITHUB_STEP_SUMMARY unset) is not a failure', () => {
    const r = action(
      { command: 'plan', release: demo, from: '2.16.6', to: '2.16.7' },
      { GITHUB_STEP_SUMMARY: '' },
    );
    expect(r.status, r.stdout).toBe(0);
    expect(r.outputs['upgrade-mode']).toBe('rolling');
  });

  it('SQLite (native) is refused with what to do instead', () => {
    const r = action({ command: 'run', release: demo, from: '2.16.6', to: '2.16.7' });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('SQLite state or datasources need the native better-sqlite3 module');
    expect(r.stdout).toContain('keep state in MariaDB/MySQL or PostgreSQL');
  });

  it('assess on SQLite datasources is refused the same way, and writes nothing in the workspace', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'uk-action-ws-'));
    const r = action({ command: 'assess', release: demo, from: '2.16.6', to: '2.16.7' }, {}, { cwd });
    expect(r.status).toBe(1);
    expect(r.outputs.status).toBe('bad-input');
    expect(r.stdout).toContain('SQLite state or datasources need the native better-sqlite3 module');
    expect(r.stdout).not.toContain('Cannot find module');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('each step keeps its own report file', () => {
    const temp = mkdtempSync(join(tmpdir(), 'uk-action-temp-'));
    const a = action({ command: 'plan', release: demo, from: '2.16.5', to: '2.16.7' }, { RUNNER_TEMP: temp });
    const b = action({ command: 'plan', release: demo, from: '2.16.6', to: '2.16.7' }, { RUNNER_TEMP: temp });
    expect(a.outputs.report).not.toBe(b.outputs.report);
    expect(JSON.parse(readFileSync(a.outputs.report as string, 'utf8'))).toMatchObject({
      plan: { from: '2.16.5' },
    });
    expect(JSON.parse(readFileSync(b.outputs.report as string, 'utf8'))).toMatchObject({
      plan: { from: '2.16.6' },
    });
  });
});

const hasPostgres = await requireService('postgres');

/** The Action's inputs for `command` on the release and site.yaml written under `dir`, from 1.0.0. */
function siteInputs(dir: string, command: string, to: string, extra: Record<string, string> = {}) {
  return {
    command,
    release: join(dir, 'release'),
    config: join(dir, 'site.yaml'),
    from: '1.0.0',
    to,
    ...extra,
  };
}

describe.runIf(hasPostgres)('run on PostgreSQL state and datasource, secrets from the environment', () => {
  const db = suiteDatabase('postgres', 'uk_action');
  let dir: string;
  const secret = `s3cr3t-${Math.random().toString(36).slice(2)}`;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'uk-action-pg-'));
    const files = {
      ...LEDGER_RELEASE,
      'site.yaml': siteYaml({ site: 'site-9', data: db, relaxed: true }),
    };
    writeFiles(dir, files);
  });

  const inputs = (extra: Record<string, string> = {}) => siteInputs(dir, 'run', '2.0.0', extra);
  const env = { UK_DB_PW: secret, UK_STATE_PW: secret };

  it('runs every stage in log groups, masks the secret first, and a re-run has nothing to do', async () => {
    const r = action(inputs(), env);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.outputs.status).toBe('succeeded');
    expect(r.outputs['upgrade-mode']).toBe('rolling');
    const lines = r.stdout.split('\n');
    const withSecret = lines.filter((l) => l.includes(secret));
    expect(withSecret.length).toBeGreaterThan(0);
    expect(withSecret.every((l) => l === `::add-mask::${secret}`)).toBe(true);
    expect(lines.findIndex((l) => l.includes(secret))).toBe(0); // before anything else was printed
    expect(r.stdout).toContain('::group::upgradekit: stage preUpgrade');
    expect(r.stdout).toContain('::endgroup::');
    // Stages with nothing in them leave neither a group nor a line.
    for (const empty of [
      'install',
      'resourceCheck',
      'businessCheck',
      'preStart',
      'openTraffic',
      'postUpgrade',
    ])
      expect(r.stdout).not.toContain(`stage ${empty}`);
    expect(r.stdout.match(/::group::/g)).toHaveLength(2); // preUpgrade and postStart
    // The assessment: its report in the log, once; no event lines repeating it.
    expect(r.stdout.match(/^Verdict: PASS — /gm)).toHaveLength(1);
    expect(r.stdout).toMatch(/^Resources \[PASS\]$/m);
    expect(r.stdout).toMatch(/^ {2}backup of main \(PostgreSQL\): data [\d.]+ [KM]iB → ~[\d.]+ [KM]iB$/m);
    expect(r.stdout).not.toContain('assessment pass:');
    expect(r.stdout).not.toContain('assess.resources');
    expect(r.summary).toMatch(/### ✅ ledger 1\.0\.0 → 2\.0\.0 on site site-9: succeeded/);
    expect(r.summary).toMatch(/\| postStart \| versions\/2\.0\.0\/seed\.sql \| SUCCESS \| 1 \|/);
    expect(readFileSync(r.outputs.report as string, 'utf8')).not.toContain(secret);
    expect(await db.knex('accounts').count({ n: '*' }).first()).toMatchObject({ n: '2' });

    const again = action(inputs(), env);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain(
      'Nothing to do: ledger 1.0.0 → 2.0.0 on site site-9 — all 2 steps are already done.',
    );
  });

  it('a failing step: status failed, an annotation, and on Gitea the same as a plain line', () => {
    const r = action(inputs({ from: '2.0.0', to: '2.1.0', stage: 'preUpgrade' }), {
      ...env,
      GITEA_ACTIONS: 'true',
    });
    expect(r.status).toBe(1);
    expect(r.outputs.status).toBe('failed');
    // At the statement's file and line, relative to the workspace when the release is.
    expect(r.stdout).toMatch(
      /::error title=upgradekit%3A preUpgrade\/broken failed,file=.*versions\/2\.1\.0\/broken\.sql,line=1::.*no_such_table/,
    );
    expect(r.stdout).toMatch(/^ERROR upgradekit: preUpgrade\/broken failed: .*no_such_table/m);
    expect(r.summary).toContain('| FAILED |');
  });

  it('assess: the verdict as output, the Markdown report as the job summary', () => {
    const r = action(inputs({ command: 'assess', from: '2.0.0', to: '2.1.0' }), env);
    expect(r.status, r.stdout).toBe(0);
    expect(r.outputs.status).toBe('pass');
    expect(r.summary).toContain('## Upgrade assessment: ledger 2.0.0 → 2.1.0 (site site-9)');
    const report = JSON.parse(readFileSync(r.outputs.report as string, 'utf8')) as {
      assessment: { resources: { backups: Array<{ datasource: string; status: string }> } };
    };
    expect(report.assessment.resources.backups).toMatchObject([{ datasource: 'main', status: 'pass' }]);
    expect(
      r.stdout
        .split('\n')
        .filter((l) => l.includes(secret))
        .every((l) => l.startsWith('::add-mask::')),
    ).toBe(true);
  });

  it('status reports the last recorded run without from/to', () => {
    const r = action(
      { command: 'status', release: join(dir, 'release'), config: join(dir, 'site.yaml') },
      env,
    );
    // The last run, 2.0.0 → 2.1.0, failed at `broken`: a failed upgrade fails the status step too,
    // as `upgradekit status` exits 1.
    expect(r.status, r.stdout).toBe(1);
    expect(r.outputs.status).toBe('failed');
    expect(r.stdout).toContain('ledger 2.0.0 → 2.1.0 on site site-9: 0 done, 0 pending, 1 failed');
  });
});

describe.runIf(hasPostgres)('a task an orchestration override runs ahead of an older version’s work', () => {
  const db = suiteDatabase('postgres', 'uk_action_order');
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'uk-action-order-'));
    // 1.2.0 moves its task before the stop; across 1.1.0 it then runs before 1.1.0's in_stop task
    // on the same datasource. Here it does not need it: an operator checks, then confirms.
    const files: Record<string, string> = {
      'release/upgradekit.yaml':
        'component: ledger\ndatasources:\n  main: { type: postgres }\ndefaults: { datasource: main }\n',
      'release/versions/1.1.0/upgrade_tasks_V1.1.0.properties':
        'sql.001.id=accounts\nsql.001.file=accounts.sql\nsql.001.stage=in_stop\nsql.001.compatible_version=1.0.0\n',
      'release/versions/1.1.0/accounts.sql': 'CREATE TABLE accounts (id INT PRIMARY KEY);\n',
      'release/versions/1.2.0/upgrade_tasks_V1.2.0.properties':
        'sql.001.id=audit\nsql.001.file=audit.sql\nsql.001.stage=in_stop\nsql.001.compatible_version=1.0.0\n',
      'release/versions/1.2.0/audit.sql': 'CREATE TABLE audit (id INT PRIMARY KEY);\n',
      'release/versions/1.2.0/upgrade_orchestration_V1.2.0.properties': 'sql.audit.stage=pre_stop\n',
      'site.yaml': siteYaml({ site: 'site-5', data: db, statePasswordEnv: 'UK_DB_PW' }),
    };
    writeFiles(dir, files);
  });

  const inputs = (extra: Record<string, string> = {}) =>
    siteInputs(dir, 'run', '1.2.0', { stage: 'preUpgrade', ...extra });
  const env = () => ({ UK_DB_PW: db.connection.password || 'unused' });

  it('plan: the warning in the job summary', () => {
    const r = action(inputs({ command: 'plan' }), env());
    expect(r.status, r.stdout).toBe(0);
    expect(r.summary).toContain("Tasks run ahead of older versions' work they may need");
    expect(r.summary).toContain('audit (1.2.0) runs in pre_stop (preUpgrade)');
  });

  it('run: needs-decision and nothing run until `yes: true`; then it runs', async () => {
    const refused = action(inputs(), env());
    expect(refused.status).not.toBe(0);
    expect(refused.outputs.status).toBe('needs-decision');
    expect(refused.stdout).toContain("tasks run ahead of older versions' work they may need: audit (1.2.0)");
    expect(await db.knex.schema.hasTable('audit')).toBe(false);
    const confirmed = action(inputs({ yes: 'true' }), env());
    expect(confirmed.status, confirmed.stdout).toBe(0);
    expect(confirmed.outputs.status).toBe('succeeded');
    expect(await db.knex.schema.hasTable('audit')).toBe(true);
  });
});

describe.runIf(hasPostgres)('backup, then roll back after the upgrade (`if: failure()`)', () => {
  let data: TestDatabase;
  let state: TestDatabase;
  let dir: string;
  const secret = `s3cr3t-${Math.random().toString(36).slice(2)}`;
  beforeAll(async () => {
    // State in its own database: a PostgreSQL restore renames the data database aside.
    [data, state] = await Promise.all([
      createTestDatabase('postgres', 'uk_action_data'),
      createTestDatabase('postgres', 'uk_action_state'),
    ]);
    dir = mkdtempSync(join(tmpdir(), 'uk-action-backup-'));
    const files: Record<string, string> = {
      'release/upgradekit.yaml':
        'component: ledger\ndatasources:\n  main: { type: postgres }\ndefaults: { datasource: main }\n',
      'release/versions/2.0.0/tasks.yaml':
        'tasks:\n  - { id: accounts, kind: sql, stage: pre_stop, file: accounts.sql, compatibleFrom: 1.0.0 }\n',
      'release/versions/2.0.0/accounts.sql': 'CREATE TABLE accounts (id INT PRIMARY KEY, name TEXT);\n',
      'site.yaml': siteYaml({ site: 'site-4', data, state, relaxed: true, backupRoot: 'backups' }),
    };
    writeFiles(dir, files);
  });
  afterAll(async () => {
    await Promise.all([data?.drop(), state?.drop()]);
  });

  const inputs = (command: string, extra: Record<string, string> = {}) =>
    siteInputs(dir, command, '2.0.0', extra);
  // The real passwords are those of the test server; the secret only has to be masked.
  const env = () => ({
    UK_DB_PW: data.connection.password || secret,
    UK_STATE_PW: state.connection.password || secret,
  });
  const accounts = async () => {
    const knex = knexFactory(data.config);
    try {
      return await knex.schema.hasTable('accounts');
    } finally {
      await knex.destroy();
    }
  };

  it('backs up, upgrades, and restores the backup: outputs, summary, no secret', async () => {
    const backup = action(inputs('backup'), env());
    expect(backup.status, backup.stdout + backup.stderr).toBe(0);
    expect(backup.outputs.status).toBe('completed');
    expect(backup.summary).toMatch(
      /### ✅ ledger 1\.0\.0 \(before 2\.0\.0\): backup backup_\d{8}_\d{6} completed/,
    );
    expect(backup.summary).toContain('| database_backup.sql |');

    const run = action(inputs('run'), env());
    expect(run.status, run.stdout).toBe(0);
    expect(await accounts()).toBe(true);

    const rollback = action(inputs('rollback', { from: '', to: '' }), env());
    expect(rollback.status, rollback.stdout + rollback.stderr).toBe(0);
    expect(rollback.outputs.status).toBe('completed');
    expect(rollback.stdout).toContain(
      'full rollback: task accounts (2.0.0) of 1.0.0 → 2.0.0 is not marked additive',
    );
    expect(rollback.summary).toContain('| 2. Restore databases | succeeded |');
    expect(await accounts()).toBe(false);
    const report = readFileSync(rollback.outputs.report as string, 'utf8');
    expect(JSON.parse(report)).toMatchObject({ command: 'rollback', status: 'completed', mode: 'full' });
    for (const text of [backup.stdout, rollback.stdout, report])
      expect(text.split('\n').filter((l) => l.includes(secret) && !l.startsWith('::add-mask::'))).toEqual([]);
  });

  it('a backup id that is not one fails before anything is opened', () => {
    const r = action(inputs('rollback', { backup: '../etc' }), env());
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(
      '"../etc" is not a backup id: give latest or one such as backup_20240101_120000 for `backup`',
    );
  });
});
