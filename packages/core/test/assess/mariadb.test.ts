import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import {
  type AssessmentReport,
  assess,
  EventBus,
  loadRelease,
  plan,
  type QualityResult,
  type Release,
  renderAssessmentJson,
  renderAssessmentMarkdown,
  renderAssessmentText,
  type UpgradeEvent,
} from '@upgradekit/core';
import knex, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireService, settings, suiteMariaDbAccount } from '#test-support';
import { writeRelease } from './support.js';

const hasMariaDB = await requireService('mariadb');
const PASSWORD = `Pw-${randomBytes(6).toString('hex')}`;

const MANIFEST = `component: shop
datasources:
  main: { type: mariadb }
  archive: { type: mariadb }
  ghost: { type: mariadb }
defaults:
  datasource: main
dataQuality:
  - id: orders_null_user
    description: Null user_id in orders
    sql: SELECT COUNT(*) FROM orders WHERE user_id IS NULL
    fix: UPDATE orders SET user_id=0 WHERE user_id IS NULL;
  - id: negative_amount
    description: Negative amounts
    sql: SELECT COUNT(*) FROM orders WHERE amount < 0
  - id: duplicate_email
    description: Duplicate e-mail addresses
    sql: SELECT COUNT(*) FROM (SELECT email FROM users GROUP BY email HAVING COUNT(*) > 1) d
    severity: warning
    fix: DELETE u1 FROM users u1 JOIN users u2 ON u1.email = u2.email AND u1.id > u2.id;
  - id: only_for_old_sources
    sql: SELECT COUNT(*) FROM orders
    versions: 1.0.0~1.0.5
  - id: broken
    description: Refers to a table that is not there
    sql: SELECT COUNT(*) FROM no_such_table
  - id: archive_rows
    datasource: archive
    sql: SELECT COUNT(*) FROM orders_archive
  - id: ghost_rows
    datasource: ghost
    sql: SELECT COUNT(*) FROM t
  - id: slow
    description: Password ${PASSWORD} must never show
    sql: SELECT SLEEP(5)
    timeout: 300ms
`;

const TASKS = `tasks:
  - id: migrate_users
    kind: sql
    stage: pre_stop
    file: sql/a.sql
    compatibleFrom: 1.0.0
    estimate: { bytes: 100000000000, rate: 50000000, parallel: true }
  - id: reindex
    kind: sql
    stage: pre_stop
    file: sql/a.sql
    compatibleFrom: 1.0.0
    estimate: { duration: 1m, parallel: true }
  - id: alter_orders
    kind: sql
    stage: in_stop
    file: sql/a.sql
    compatibleFrom: 1.2.0
    timeout: 2m
    estimate: { query: "SELECT COUNT(*) FROM orders", rate: 0.05 }
    resources: { disk: 2MB }
  - id: rebuild_cache
    kind: command
    stage: post_start
    command: ["true"]
    estimate: { duration: 4m }
`;

describe.runIf(hasMariaDB)('assess on MariaDB with seeded dirty rows', () => {
  const user = `uk_assess_${randomBytes(3).toString('hex')}`;
  const db = suiteMariaDbAccount('uk_assess', user, PASSWORD);
  let main: Knex;
  let ghost: Knex;
  let release: Release;
  let report: AssessmentReport;
  const events: UpgradeEvent[] = [];

  beforeAll(async () => {
    const root = db.knex;
    await root.raw(
      'CREATE TABLE orders (id INT PRIMARY KEY AUTO_INCREMENT, user_id INT NULL, amount DECIMAL(10,2))',
    );
    await root.raw('CREATE TABLE users (id INT PRIMARY KEY AUTO_INCREMENT, email VARCHAR(100))');
    // 20 orders, 15 of them without a user; 3 e-mails used twice.
    await root('orders').insert(
      Array.from({ length: 20 }, (_, i) => ({ user_id: i < 15 ? null : i, amount: i })),
    );
    await root('users').insert(['a', 'a', 'b', 'b', 'c', 'c', 'd'].map((e) => ({ email: `${e}@x` })));
    await root.raw('ANALYZE TABLE orders, users');
    main = knex({
      client: 'mysql2',
      connection: { ...db.connection, user, password: PASSWORD },
      pool: { min: 0, max: 4 },
    });
    ghost = knex({
      client: 'mysql2',
      connection: { ...settings.mariadb, database: `uk_missing_${randomBytes(3).toString('hex')}` },
      pool: { min: 0, max: 1 },
      // knex prints failed acquisitions itself; the report says it better.
      log: { warn() {}, error() {}, debug() {}, deprecate() {} },
    });
    const dir = writeRelease({
      'upgradekit.yaml': MANIFEST,
      'versions/1.2.0/tasks.yaml': TASKS,
      'versions/1.2.0/sql/a.sql': 'SELECT 1;\n',
    });
    release = await loadRelease(dir);
    const bus = new EventBus();
    bus.on('*', (e) => events.push(e));
    report = await assess(plan({ release, from: '1.1.0', to: '1.2.0' }), {
      release,
      connections: { main, ghost },
      local: { paths: [tmpdir()] },
      thresholds: { cpuIdlePercent: 0, memoryBytes: 0 },
      backup: { datasources: ['main'], rollback: true },
      quality: { retryDelayMs: 10 },
      cpuSampleMs: 50,
      events: bus,
    });
  });
  afterAll(async () => {
    await main?.destroy();
    await ghost?.destroy();
  });

  const check = (id: string) =>
    report.dataQuality.checks.find((c) => c.id === `quality.${id}`) as QualityResult;

  it('counts offending rows against thresholds, with the suggested fix', () => {
    expect(check('orders_null_user')).toMatchObject({
      status: 'fail',
      offending: 15,
      threshold: 0,
      detail: '15 offending rows (threshold 0)',
      suggestion: 'Repair by hand after review: UPDATE orders SET user_id=0 WHERE user_id IS NULL;',
    });
    expect(check('negative_amount')).toMatchObject({ status: 'pass', offending: 0 });
    expect(check('duplicate_email')).toMatchObject({ status: 'warn', offending: 3, severity: 'warning' });
  });

  it('skips checks out of their version range, without a connection, or without their database', () => {
    expect(check('only_for_old_sources')).toMatchObject({ status: 'skip', attempts: 0 });
    expect(check('only_for_old_sources').detail).toContain('1.0.0~1.0.5 contains none of 1.1.0, 1.2.0');
    expect(check('archive_rows')).toMatchObject({ status: 'skip' });
    expect(check('archive_rows').detail).toContain('"archive" has no connection');
    expect(check('ghost_rows')).toMatchObject({ status: 'skip', attempts: 1 });
    expect(check('ghost_rows').detail).toMatch(/does not exist: .*Unknown database/);
  });

  it('an SQL error fails naming the check; a slow query is cancelled at its timeout', () => {
    expect(check('broken')).toMatchObject({ status: 'fail', attempts: 1 });
    expect(check('broken').detail).toMatch(/check broken failed with an SQL error: .*no_such_table/);
    expect(check('broken').suggestion).toContain('upgradekit.yaml:');
    expect(check('slow')).toMatchObject({ status: 'fail', attempts: 1 });
    expect(check('slow').detail).toContain('did not finish within 300ms');
    expect(check('slow').elapsedMs).toBeLessThan(3000);
  });

  it('sizes the backup from information_schema (data + index × 1.5)', () => {
    const b = report.resources.backups.find((x) => x.datasource === 'main')!;
    expect(b.status).toBe('pass');
    // Labelled by what the release configured (MariaDB), not by the dialect it speaks (mysql).
    expect(b.type).toBe('mariadb');
    expect(b.detail).toMatch(/^data [\d.]+ KiB × 1\.5 = backup [\d.]+ KiB$/);
    expect(b.dataBytes).toBeGreaterThanOrEqual(2 * 16 * 1024); // two InnoDB tables, a page each at least
    expect(b.backupBytes).toBe(Math.ceil(b.dataBytes! * 1.5));
    expect(report.resources.need.backupBytes).toBe(b.backupBytes);
    expect(report.resources.need.declaredDiskBytes).toBe(2_000_000);
    // The account may change only its own database: a rollback could not set it aside (see
    // rollback-ready.test.ts); the resources section says so with the grant.
    const rollback = report.resources.checks.find((c) => c.id === 'resources.rollback.main');
    expect(rollback).toMatchObject({ status: 'warn', title: 'Rollback of main' });
    expect(rollback?.suggestion).toContain(`GRANT ALL ON \`${db.name.replace(/_/g, '\\_')}\\_uk%\`.*`);
  });

  it('reports compatibility from the plan: stop mode, the incompatible and the unannotated items', () => {
    expect(report.compatibility.mode).toBe('stop');
    expect(report.compatibility.incompatible.map((i) => [i.item, i.needsConfirmation])).toEqual([
      ['a.sql', false],
      ['rebuild_cache', true],
    ]);
    expect(report.compatibility.checks.find((c) => c.id === 'compatibility.unannotated')!.status).toBe(
      'warn',
    );
  });

  it('estimates per task, per stage (parallel → longest, serial → sum) and flags long tasks', () => {
    const t = (id: string) => report.duration.tasks.find((x) => x.id === id)!;
    expect(t('migrate_users')).toMatchObject({
      durationMs: 2_000_000,
      basis: 'declared-volume',
      long: true,
      parallel: true,
    });
    // The volume is queried now: 20 rows at 0.05 rows/s.
    expect(t('alter_orders')).toMatchObject({
      durationMs: 400_000,
      basis: 'queried-volume',
      volume: 20,
      long: true,
    });
    expect(t('alter_orders').note).toMatch(/services are stopped: .*move it to pre_stop or post_start/);
    expect(report.duration.stages.map((s) => [s.stage, s.durationMs])).toEqual([
      ['pre_stop', 2_000_000],
      ['in_stop', 400_000],
      ['post_start', 240_000],
    ]);
    expect(report.duration.totalMs).toBe(2_640_000);
    expect(report.duration.downtimeMs).toBe(400_000);
    expect(report.duration.critical).toBe('migrate_users');
    const ids = report.duration.checks.map((c) => `${c.id}:${c.status}`);
    expect(ids).toEqual(
      expect.arrayContaining([
        'duration.migrate_users:warn',
        'duration.alter_orders:warn',
        'duration.timeout.alter_orders:warn',
      ]),
    );
  });

  it('has an overall verdict, counts, and announces each section as a step', () => {
    expect(report.verdict).toBe('fail');
    const total = Object.values(report.counts).reduce((a, b) => a + b, 0);
    const all = [report.resources, report.dataQuality, report.compatibility, report.duration].flatMap(
      (s) => s.checks,
    );
    expect(total).toBe(all.length);
    expect(report.counts.fail).toBe(all.filter((c) => c.status === 'fail').length);
    const steps = events.filter((e) => e.type === 'step.end').map((e) => (e as { step: string }).step);
    expect(steps.sort()).toEqual(['assess.dataQuality', 'assess.duration', 'assess.resources']);
    const verdict = events.find((e) => e.type === 'log' && e.fields?.kind === 'assessment.verdict');
    expect(verdict).toMatchObject({ level: 'error', fields: { verdict: 'fail', counts: report.counts } });
  });

  it('never shows the connection password, in any rendering', () => {
    const outputs = [
      renderAssessmentJson(report),
      renderAssessmentText(report),
      renderAssessmentMarkdown(report),
    ];
    for (const out of outputs) {
      expect(out).not.toContain(PASSWORD);
      expect(out).toContain('Password *** must never show');
    }
  });

  it('renders the same report as JSON, terminal text and Markdown', () => {
    const json = JSON.parse(renderAssessmentJson(report));
    expect(json).toEqual(JSON.parse(JSON.stringify(report)));
    expect(json.schema).toBe('upgradekit.assessment/v1');
    const text = renderAssessmentText(report);
    expect(text).toMatch(/^Assessment of shop 1\.1\.0 → 1\.2\.0/);
    expect(text).toContain('Verdict: FAIL');
    expect(text).toContain('[FAIL] Null user_id in orders: 15 offending rows (threshold 0)');
    expect(text).toContain(
      '→ Repair by hand after review: UPDATE orders SET user_id=0 WHERE user_id IS NULL;',
    );
    expect(text).toContain('in_stop (preStart, serial): 6m40s');
    expect(text).toMatch(/^ {2}backup of main \(MariaDB\): data [\d.]+ KiB → ~[\d.]+ KiB$/m);
    expect(text).toContain(`\nResources [${report.resources.status.toUpperCase()}]\n`);
    expect(text).toContain(`\nData quality [FAIL]\n`);
    expect(text).not.toMatch(/[\u4e00-\u9fff]/);
    expect(renderAssessmentText(report, { color: true })).toContain('\u001b[31m[FAIL]\u001b[0m');
    const md = renderAssessmentMarkdown(report);
    expect(md).toContain('**Verdict: ❌ FAIL**');
    expect(md).toContain('| ❌ FAIL | Null user_id in orders | 15 offending rows (threshold 0) |');
    expect(md).toContain('| pre_stop | preUpgrade | 2 | 2 | 33m20s | migrate_users |');
    expect(md).toMatch(/^\| main \| MariaDB \| [\d.]+ KiB \| [\d.]+ KiB \| {2}\|$/m);
    expect(md).not.toMatch(/[\u4e00-\u9fff]/);
  });
});
