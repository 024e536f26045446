import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import {
  addPlanSteps,
  createUpgrade,
  formatStageSummary,
  formatStepLine,
  isUpgradeKitError,
  loadRelease,
  plan,
  type StateOptions,
  StateStore,
} from '@upgradekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  leaveCrashedStep,
  requireService,
  settings,
  sqliteKnex,
  suiteDatabase,
  test,
  withStore,
} from '#test-support';
import { planUpgrade, prepareRelease, runOnce, writeRelease } from './support.js';

const [hasMariaDB, hasPostgres, hasClickHouse] = await Promise.all([
  requireService('mariadb'),
  requireService('postgres'),
  requireService('clickhouse'),
]);

/**
 * A release in `dir` (a fresh one by default) whose 1.1.0 runs `sql`, in `file`, as the in_stop task
 * `id` (kind `clickhouse` on ClickHouse, `sql` elsewhere), skipped when its `check` returns non-zero.
 */
function oneTask(
  type: string,
  id: string,
  file: string,
  sql: string,
  { dir = mkdtempSync(join(tmpdir(), 'uk-sql-')), check }: { dir?: string; check?: string } = {},
) {
  const kind = type === 'clickhouse' ? 'clickhouse' : 'sql';
  const checked = check ? `, check: ${JSON.stringify(check)}` : '';
  const tasks = `tasks:\n  - { id: ${id}, kind: ${kind}, stage: in_stop, file: ${file}${checked} }\n`;
  return writeRelease(dir, type, { [`versions/1.1.0/${file}`]: sql }, tasks);
}

async function succeededRows(state: StateOptions, taskId: string): Promise<number> {
  const rows = await withStore(state, (store) => store.log({ taskId }));
  return rows.filter((r) => r.status === 'succeeded').length;
}

describe('SQLite, state in the same database: a task and its success commit together', () => {
  it('a failing statement rolls the whole task back; after the fix it runs once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uk-sql-'));
    const knex = sqliteKnex(join(dir, 'app.sqlite'));
    const state = await StateStore.open({ knex });
    oneTask(
      'sqlite',
      'create_a',
      'a.sql',
      'CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);\nINSERT INTO nope VALUES (2);\n',
      { dir },
    );
    const failed = await runOnce(dir, knex, state);
    expect(failed.status).toBe('failed');
    expect(failed.error?.message).toMatch(
      /SQLITE_ERROR: no such table: nope — at versions\/1.1.0\/a.sql:3, statement 3 of 3\n/,
    );
    expect(await knex.schema.hasTable('a')).toBe(false); // rolled back: DDL is transactional here
    writeFileSync(
      join(dir, 'versions/1.1.0/a.sql'),
      'CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);\nINSERT INTO a VALUES (2);\n',
    );
    expect((await runOnce(dir, knex, state)).status).toBe('succeeded');
    expect(await knex('a').count({ n: '*' }).first()).toMatchObject({ n: 2 });
    expect((await runOnce(dir, knex, state)).steps[0]).toMatchObject({ status: 'skipped' });
    const rows = await state.log({ taskId: 'create_a' });
    expect(rows.map((r) => r.status)).toEqual(['failed', 'succeeded']);
    await state.close();
    await knex.destroy();
  });
});

describe.runIf(hasPostgres)('PostgreSQL: transactional DDL', () => {
  test('commits the task with its success row; a failure leaves nothing behind', async ({ db, tmp: dir }) => {
    const { knex } = await db('postgres', 'uk_run');
    const state = await StateStore.open({ knex });
    const create = `CREATE TABLE p (id int, note text DEFAULT 'a;b');\nCREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 7; END; $$ LANGUAGE plpgsql;\nINSERT INTO p (id) VALUES (f());\n`;
    oneTask('postgres', 'create_p', 'p.sql', `${create}SELECT 1/0;\n`, { dir });
    const failed = await runOnce(dir, knex, state);
    expect(failed.error?.message).toMatch(
      /SQLSTATE 22012: division by zero — at versions\/1.1.0\/p.sql:4, statement 4 of 4\n/,
    );
    expect(await knex.schema.hasTable('p')).toBe(false);
    writeFileSync(join(dir, 'versions/1.1.0/p.sql'), create);
    expect((await runOnce(dir, knex, state)).status).toBe('succeeded');
    expect(await knex('p').select('id', 'note')).toEqual([{ id: 7, note: 'a;b' }]);
    expect((await state.log({ taskId: 'create_p' })).map((r) => r.status)).toEqual(['failed', 'succeeded']);
    await state.close();
  });
});

describe.runIf(hasMariaDB)('MariaDB: DDL auto-commits, so progress is per statement', () => {
  const target = suiteDatabase('mariadb', 'uk_run');

  it('a DDL file failing at statement k resumes at k after the fix, not at 1', async () => {
    const { knex } = target;
    const statements = (third: string) =>
      `${[
        'CREATE TABLE t1 (id INT PRIMARY KEY)',
        'CREATE TABLE t2 (id INT PRIMARY KEY)',
        third,
        'CREATE TABLE t4 (id INT PRIMARY KEY)',
        'INSERT INTO t4 VALUES (4)',
      ].join(';\n')};\n`;
    const dir = oneTask(
      'mariadb',
      'ddl',
      'ddl.sql',
      statements('ALTER TABLE t2 ADD COLUMN c INT AFTER missing_column'),
    );
    const state = { filename: join(dir, 'state.sqlite') };
    const failed = await runOnce(dir, knex, state);
    expect(failed.error?.message).toMatch(
      /ER_BAD_FIELD_ERROR \(1054\): Unknown column 'missing_column'.* — at versions\/1.1.0\/ddl.sql:3, statement 3 of 5\n/,
    );
    expect(await knex.schema.hasTable('t2')).toBe(true); // statements 1–2 committed on their own
    writeFileSync(join(dir, 'versions/1.1.0/ddl.sql'), statements('ALTER TABLE t2 ADD COLUMN c INT'));
    // Had statements 1 and 2 run again, CREATE TABLE t1 would fail with "already exists".
    const resumed = await runOnce(dir, knex, state);
    expect(resumed.status, resumed.error?.message).toBe('succeeded');
    expect(await knex('t4').select('id')).toEqual([{ id: 4 }]);
    expect(await knex.schema.hasColumn('t2', 'c')).toBe(true);
    expect(await succeededRows(state, 'ddl')).toBe(1);
  });

  it('a DML-only file is one transaction: a failure rolls every row back', async () => {
    const { knex } = target;
    await knex.raw('CREATE TABLE dml (id INT PRIMARY KEY)');
    const inserts = 'INSERT INTO dml VALUES (1);\nINSERT INTO dml VALUES (2);\nINSERT INTO dml VALUES (1);\n';
    const dir = oneTask('mariadb', 'dml', 'dml.sql', inserts);
    const failed = await runOnce(dir, knex, { filename: join(dir, 'state.sqlite') });
    expect(failed.error?.message).toMatch(/ER_DUP_ENTRY \(1062\): Duplicate entry .* statement 3 of 3\n/);
    expect(await knex('dml').count({ n: '*' }).first()).toMatchObject({ n: 0 });
  });

  it('a `check` that finds the work done skips the task', async () => {
    const { knex } = target;
    await knex.raw('CREATE TABLE checked (id INT)');
    const dir = oneTask('mariadb', 'checked', 'c.sql', 'CREATE TABLE checked (id INT);\n', {
      check:
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'checked'",
    });
    const result = await runOnce(dir, knex, { filename: join(dir, 'state.sqlite') });
    expect(result.steps[0]).toMatchObject({ status: 'skipped', reason: 'skipIf: already done' });
  });

  it('a statement in doubt that the catalog cannot settle stops the run, names the statement, and continues after "applied"', async () => {
    const { knex } = target;
    const dir = oneTask(
      'mariadb',
      'doubt',
      'd.sql',
      'CREATE TABLE d1 (id INT);\nCALL d_fill();\nCREATE TABLE d3 (id INT);\n',
    );
    const stateFile = join(dir, 'state.sqlite');
    // What a crash during statement 2 leaves: a CALL runs unwrapped and commits as it goes, the
    // progress says it started — and no catalog can say what it did.
    await knex.raw('CREATE TABLE d1 (id INT)');
    await leaveCrashedStep(
      { filename: stateFile },
      { taskId: 'doubt', taskName: 'd.sql', progress: { next: 1, started: 1 } },
    );

    const blocked = await runOnce(dir, knex, { filename: stateFile });
    expect(blocked.status).toBe('needs-decision');
    expect(isUpgradeKitError(blocked.error, 'UPGRADEKIT_IN_DOUBT')).toBe(true);
    expect(blocked.error?.message).toMatch(
      /statement 2 of 3 \(versions\/1.1.0\/d.sql:2\) was running [\s\S]*the catalog cannot tell \(CALL may change data each time it runs\)/,
    );

    const upgrade = await planUpgrade(dir, knex, { filename: stateFile });
    await upgrade.resolve('doubt', 'applied');
    const resumed = await upgrade.runStage('preStart');
    await upgrade.close();
    expect(resumed.status, resumed.error?.message).toBe('succeeded'); // continued at statement 3
    expect(await knex.schema.hasTable('d3')).toBe(true);
  });

  it('a CREATE TABLE in doubt after a crash is settled by the catalog: it exists, so the run continues after it', async () => {
    const { knex } = target;
    const creates = 'CREATE TABLE e1 (id INT);\nCREATE TABLE e2 (id INT);\nCREATE TABLE e3 (id INT);\n';
    const dir = oneTask('mariadb', 'evident', 'e.sql', creates);
    const stateFile = join(dir, 'state.sqlite');
    // A crash during statement 2, after the server committed it (no server mark: nothing to wait for).
    await knex.raw('CREATE TABLE e1 (id INT)');
    await knex.raw('CREATE TABLE e2 (id INT)');
    await leaveCrashedStep(
      { filename: stateFile },
      { taskId: 'evident', taskName: 'e.sql', progress: { next: 1, started: 1 } },
    );
    const resumed = await runOnce(dir, knex, { filename: stateFile });
    expect(resumed.status, resumed.error?.message).toBe('succeeded');
    expect(await knex.schema.hasTable('e3')).toBe(true);
  });
});

describe.runIf(hasClickHouse)('ClickHouse: every statement auto-commits', () => {
  const database = `uk_run_${Date.now().toString(36)}`;
  const admin = createClient(settings.clickhouse);
  beforeAll(() => admin.command({ query: `CREATE DATABASE ${database}` }));
  afterAll(async () => {
    await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await admin.close();
  });

  it('resumes at the failed statement after the fix', async () => {
    const client = createClient({ ...settings.clickhouse, database });
    const file = (second: string) =>
      `CREATE TABLE e1 (id UInt32) ENGINE = MergeTree ORDER BY id;\n${second};\nCREATE TABLE e3 (id UInt32) ENGINE = Memory;\nINSERT INTO e3 VALUES (3);\n`;
    const dir = oneTask(
      'clickhouse',
      'events',
      'e.sql',
      file('ALTER TABLE e1 ADD COLUMN x UInt32 AFTER nothing'),
    );
    const state = { filename: join(dir, 'state.sqlite') };
    const failed = await runOnce(dir, client, state);
    expect(failed.error?.message).toMatch(/e.sql:2, statement 2 of 4\n/);
    writeFileSync(join(dir, 'versions/1.1.0/e.sql'), file('ALTER TABLE e1 ADD COLUMN x UInt32'));
    const resumed = await runOnce(dir, client, state);
    expect(resumed.status, resumed.error?.message).toBe('succeeded');
    const rows = await (await client.query({ query: 'SELECT id FROM e3', format: 'JSONEachRow' })).json<{
      id: number;
    }>();
    expect(rows).toEqual([{ id: 3 }]);
    expect(await succeededRows(state, 'events')).toBe(1);
    await client.close();
  });

  it('a check skips the task only when it returns non-zero (ClickHouse has no ADD COLUMN IF NOT EXISTS)', async () => {
    const client = createClient({ ...settings.clickhouse, database });
    const dir = oneTask(
      'clickhouse',
      'checked',
      'c.sql',
      'CREATE TABLE checked (id UInt32) ENGINE = Memory;\n',
      {
        check: "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'checked'",
      },
    );
    // Not there yet: the check says 0 and the task runs.
    const first = await runOnce(dir, client, { filename: join(dir, 'first.sqlite') });
    expect(first.status, first.error?.message).toBe('succeeded');
    expect(first.steps.map((s) => s.status)).toEqual(['succeeded']);
    // A fresh state that knows nothing of the first run: only the check stops a second CREATE.
    const second = await runOnce(dir, client, { filename: join(dir, 'second.sqlite') });
    expect(second.status, second.error?.message).toBe('succeeded');
    expect(second.steps.map((s) => s.status)).toEqual(['skipped']);
    await client.close();
  });
});

describe('dry run, validation, repair and summary lines', () => {
  it('says what would run and why the rest is skipped; flags changed content; repair accepts it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uk-sql-'));
    const knex = sqliteKnex(join(dir, 'app.sqlite'));
    writeRelease(
      dir,
      'sqlite',
      {
        'versions/1.1.0/a.sql': 'CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);\n',
        'versions/1.1.0/b.sql': 'CREATE TABLE b (id INT);\n',
      },
      'tasks:\n  - { id: create_a, kind: sql, stage: in_stop, file: a.sql }\n  - { id: create_b, kind: sql, stage: in_stop, file: b.sql, description: Create b }\n',
    );
    const state = { filename: join(dir, 'state.sqlite') };
    const make = () => prepareRelease(dir, knex, state);
    const first = await make();
    expect(await first.dryRun({ stages: ['preStart'] })).toEqual([
      expect.objectContaining({
        id: 'create_a',
        action: 'run',
        summary: 'sql on main: 2 statements from versions/1.1.0/a.sql, in one transaction',
      }),
      expect.objectContaining({ id: 'create_b', name: 'Create b', action: 'run' }),
    ]);
    expect(await knex.schema.hasTable('a')).toBe(false); // a dry run changes nothing
    const result = await first.runStage('preStart');
    expect(result.steps.map(formatStepLine)).toEqual([
      expect.stringMatching(/^\[SUCCESS\] versions\/1.1.0\/a.sql \(\d+(\.\d+)?m?s\)$/),
      expect.stringMatching(/^\[SUCCESS\] Create b \(\d+(\.\d+)?m?s\)$/),
    ]);
    await first.close();

    writeFileSync(join(dir, 'versions/1.1.0/a.sql'), 'CREATE TABLE a (id INT);\nINSERT INTO a VALUES (2);\n');
    const second = await make();
    const [mismatch] = await second.validate();
    expect(mismatch).toMatchObject({ id: 'create_a', version: '1.1.0' });
    expect(mismatch!.recorded).not.toBe(mismatch!.current);
    const dry = await second.dryRun({ stages: ['preStart'] });
    expect(dry[0]).toMatchObject({
      action: 'skip',
      reason: expect.stringMatching(/already done: succeeded in run .*content changed since/),
    });
    const again = await second.runStage('preStart');
    expect(formatStepLine(again.steps[0]!)).toMatch(
      /^\[SKIPPED\] versions\/1.1.0\/a.sql \(already done: succeeded in run [0-9a-f-]+\)$/,
    );
    expect(formatStageSummary(again)).toMatch(
      /^stage preStart: succeeded in .* \(2 skipped\)\n {2}\[SKIPPED\]/,
    );
    await second.repair('create_a');
    expect(await second.validate()).toEqual([]);
    await expect(second.repair('create_b')).rejects.toThrow(/no checksum change to accept/);
    await second.close();
    await knex.destroy();
  });
});

describe('tool and command tasks', () => {
  it('run a tool module’s run(ctx) and a command without a shell; a failing command reports its stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uk-tool-'));
    const out = join(dir, 'out');
    mkdirSync(out);
    writeRelease(
      dir,
      'sqlite',
      {
        'versions/1.1.0/tools/validate.mjs': `import { writeFileSync } from 'node:fs';\nexport async function run(ctx) { writeFileSync(${JSON.stringify(join(out, 'tool.txt'))}, ctx.task.id + ' ' + ctx.stage + ' ' + ctx.to); }\n`,
        'tools/write.mjs': `import { writeFileSync } from 'node:fs';\nwriteFileSync(process.argv[2], 'argument with spaces; $(not a shell)');\nconsole.log('wrote it');\n`,
        'tools/fail.mjs': `console.error('disk quota exceeded on /data');\nprocess.exit(3);\n`,
      },
      `tasks:
  - { id: validate_schemas, kind: tool, stage: pre_stop, package: tools/validate.mjs }
  - { id: write_file, kind: command, stage: post_start, command: [node, tools/write.mjs, ${JSON.stringify(join(out, 'cmd.txt'))}] }
`,
    );
    const release = await loadRelease(dir);
    const upgrade = createUpgrade({
      component: 'orders',
      from: '1.0.0',
      to: '1.1.0',
      site: 's1',
      state: { filename: join(dir, 'state.sqlite') },
    });
    const logs: string[] = [];
    upgrade.events.on('log', (e) => logs.push(e.message));
    addPlanSteps(upgrade, plan({ release, from: '1.0.0', to: '1.1.0' }), { release, connections: {} });
    const result = await upgrade.run();
    expect(result.status, result.error?.message).toBe('succeeded');
    expect(readFileSync(join(out, 'tool.txt'), 'utf8')).toBe('validate_schemas preUpgrade 1.1.0');
    expect(readFileSync(join(out, 'cmd.txt'), 'utf8')).toBe('argument with spaces; $(not a shell)');
    expect(logs).toContain('wrote it');
    await upgrade.close();

    writeFileSync(
      join(dir, 'versions/1.1.0/tasks.yaml'),
      'tasks:\n  - { id: failing, kind: command, stage: post_start, command: [node, tools/fail.mjs] }\n',
    );
    const failingRelease = await loadRelease(dir);
    const again = createUpgrade({
      component: 'orders',
      from: '1.0.0',
      to: '1.1.0',
      site: 's2',
      state: { filename: join(dir, 'state.sqlite') },
    });
    addPlanSteps(again, plan({ release: failingRelease, from: '1.0.0', to: '1.1.0' }), {
      release: failingRelease,
      connections: {},
    });
    const failed = await again.runStage('postStart');
    expect(failed.error?.message).toMatch(
      /task failing: node exited with code 3:\n\s+disk quota exceeded on \/data/,
    );
    await again.close();
  });
});

describe.runIf(hasMariaDB)("a package in the seed's .properties format runs unchanged", () => {
  const target = suiteDatabase('mariadb', 'uk_seed');

  it('upgrade_tasks + upgrade_orchestration: tasks run at their (overridden) cut-points, in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uk-seedpkg-'));
    const order = join(dir, 'order.log');
    writeRelease(
      dir,
      'mariadb',
      {
        'upgrade_tasks_V1.1.0.properties': `sql.001.id=alter_orders_table
sql.001.description=Add note to orders
sql.001.file=sql/alter_orders_table.sql
sql.001.stage=in_stop
sql.002.id=backup_legacy_data
sql.002.description=Copy legacy rows
sql.002.file=sql/backup_legacy_data.sql
sql.002.stage=post_start
tool.003.id=validate_schemas
tool.003.description=Validate schemas
tool.003.package=tools/validate.mjs
tool.003.stage=post_start
`,
        'upgrade_orchestration_V1.1.0.properties': 'sql.backup_legacy_data.stage=pre_stop\n',
        'sql/alter_orders_table.sql':
          'CREATE TABLE orders (id INT PRIMARY KEY);\nALTER TABLE orders ADD COLUMN note VARCHAR(20);\n',
        'sql/backup_legacy_data.sql': 'CREATE TABLE legacy (id INT);\nINSERT INTO legacy VALUES (1), (2);\n',
        'tools/validate.mjs': `import { appendFileSync } from 'node:fs';\nexport default { run: (ctx) => appendFileSync(${JSON.stringify(order)}, ctx.stage + ':' + ctx.task.id + '\\n') };\n`,
      },
      'tasks: []\n',
    );
    const { knex } = target;
    const upgrade = await planUpgrade(dir, knex, { filename: join(dir, 'state.sqlite') });
    const result = await upgrade.run();
    expect(result.status, result.error?.message).toBe('succeeded');
    const ran = result.stages.flatMap((s) => s.steps.map((step) => `${s.stage}:${step.id}:${step.status}`));
    expect(ran).toEqual([
      'preUpgrade:backup_legacy_data:succeeded',
      'preStart:alter_orders_table:succeeded',
      'postStart:validate_schemas:succeeded',
    ]);
    expect(await knex.schema.hasColumn('orders', 'note')).toBe(true);
    expect(await knex('legacy').count({ n: '*' }).first()).toMatchObject({ n: 2 });
    expect(readFileSync(order, 'utf8')).toBe('postStart:validate_schemas\n');
    await upgrade.close();
  });
});
