import { randomBytes } from 'node:crypto';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { assess, EventBus, loadRelease, plan, type QualityResult, type RetryEvent } from '@upgradekit/core';
import knex, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy, requireService, settings, suiteDatabase } from '#test-support';
import { writeRelease } from './support.js';

const hasPostgres = await requireService('postgres');
const hasClickHouse = await requireService('clickhouse');
const hasMariaDB = await requireService('mariadb');

const quiet = { warn() {}, error() {}, debug() {}, deprecate() {} };

function release(datasources: string, checks: string) {
  return loadRelease(
    writeRelease({
      'upgradekit.yaml': `component: shop\ndatasources:\n${datasources}\ndataQuality:\n${checks}`,
      'versions/2.0.0/tasks.yaml': 'tasks: []\n',
    }),
  );
}

const assessOnly = { local: false as const, cpuSampleMs: 10 };

describe.runIf(hasPostgres)('PostgreSQL', () => {
  const db = suiteDatabase('postgres', 'uk_assess');
  let pg: Knex;
  beforeAll(async () => {
    pg = knex({ ...db.config, log: quiet });
    await pg.raw('CREATE TABLE payments (id serial PRIMARY KEY, amount numeric, note text)');
    await pg.raw(
      "INSERT INTO payments (amount, note) SELECT g - 5, repeat('x', 200) FROM generate_series(1, 2000) g",
    );
    await pg.raw('CREATE INDEX payments_amount ON payments (amount)');
    await pg.raw('ANALYZE payments');
  });
  afterAll(async () => {
    await pg?.destroy();
  });

  it('checks data and sizes tables with their indexes', async () => {
    const r = await release(
      '  pay: { type: postgres }',
      `  - { id: negative, datasource: pay, sql: "SELECT COUNT(*) FROM payments WHERE amount < 0", threshold: 3, severity: warning }
  - { id: typo, datasource: pay, sql: "SELECT COUNT(*) FROM paymnts" }
`,
    );
    const report = await assess(plan({ release: r, from: '1.0.0', to: '2.0.0' }), {
      ...assessOnly,
      release: r,
      connections: { pay: pg },
    });
    const [negative, typo] = report.dataQuality.checks as QualityResult[];
    expect(negative).toMatchObject({ status: 'warn', offending: 4, threshold: 3 });
    expect(typo!.status).toBe('fail');
    expect(typo!.detail).toMatch(/check typo failed with an SQL error: .*"paymnts" does not exist/);
    const size = report.resources.backups[0]!;
    const [{ bytes }] = (await pg.raw("SELECT pg_total_relation_size('payments')::bigint AS bytes")).rows;
    expect(size).toMatchObject({
      datasource: 'pay',
      type: 'postgres',
      status: 'pass',
      dataBytes: Number(bytes),
      rows: 2000,
    });
    expect(size.backupBytes).toBe(Math.ceil(Number(bytes) * 1.5));
  });
});

describe.runIf(hasClickHouse)('ClickHouse', () => {
  const database = `uk_assess_${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  const admin = createClient(settings.clickhouse);
  const client = createClient({ ...settings.clickhouse, database });
  // The client logs failed queries itself; the missing database is the point of this one.
  const missing = createClient({
    ...settings.clickhouse,
    database: `${database}_gone`,
    log: { level: ClickHouseLogLevel.OFF },
  });
  beforeAll(async () => {
    await admin.command({ query: `CREATE DATABASE ${database}` });
    await client.command({
      query: 'CREATE TABLE events (id UInt32, kind String) ENGINE = MergeTree ORDER BY id',
    });
    await client.command({
      query: "INSERT INTO events SELECT number, if(number % 10 = 0, '', 'click') FROM numbers(5000)",
    });
  });
  afterAll(async () => {
    await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await Promise.all([admin.close(), client.close(), missing.close()]);
  });

  it('checks data, sizes active parts, plans dual-write space, and skips a missing database', async () => {
    const r = await release(
      '  events: { type: clickhouse }\n  old: { type: clickhouse }',
      `  - { id: empty_kind, datasource: events, sql: "SELECT count() FROM events WHERE kind = ''", threshold: 100 }
  - { id: gone, datasource: old, sql: "SELECT count() FROM events" }
`,
    );
    const report = await assess(plan({ release: r, from: '1.0.0', to: '2.0.0' }), {
      ...assessOnly,
      release: r,
      connections: { events: client, old: missing },
      backup: { dualWrite: [{ datasource: 'events' }] },
    });
    const [emptyKind, gone] = report.dataQuality.checks as QualityResult[];
    expect(emptyKind).toMatchObject({ status: 'fail', offending: 500, threshold: 100 });
    expect(gone).toMatchObject({ status: 'skip' });
    expect(gone!.detail).toMatch(/does not exist/);
    const rows = await (
      await client.query({
        query: `SELECT sum(bytes_on_disk) AS b FROM system.parts WHERE active AND database = '${database}'`,
        format: 'JSONEachRow',
      })
    ).json<{ b: string }>();
    const events = report.resources.backups.find((b) => b.datasource === 'events')!;
    expect(events).toMatchObject({
      type: 'clickhouse',
      status: 'pass',
      dataBytes: Number(rows[0]!.b),
      rows: 5000,
    });
    // Twice the data plus a 20% buffer (seed 001 §5.2.1).
    expect(events.dualWriteBytes).toBe(Math.ceil(Number(rows[0]!.b) * 2.2));
    expect(report.resources.backups.find((b) => b.datasource === 'old')!.status).toBe('skip');
  });
});

describe.runIf(hasMariaDB)('connection errors are retried three times, nothing else is', () => {
  const db = suiteDatabase('mariadb', 'uk_assess');
  let proxy: FaultProxy;
  let flaky: Knex;
  beforeAll(async () => {
    proxy = await FaultProxy.start({ host: settings.mariadb.host, port: settings.mariadb.port });
    flaky = knex({
      client: 'mysql2',
      connection: { ...db.connection, host: proxy.host, port: proxy.port },
      pool: { min: 0, max: 1 },
      acquireConnectionTimeout: 5000,
      log: quiet,
    });
  });
  afterAll(async () => {
    await flaky?.destroy();
    await proxy?.close();
  });

  const r = () =>
    release(
      '  main: { type: mariadb }',
      '  - { id: rows, datasource: main, sql: "SELECT COUNT(*) FROM information_schema.TABLES WHERE 1 = 0" }\n',
    );

  /** The quality checks alone, over the flaky connection, retrying after 20 ms. */
  const throughProxy = (rel: Awaited<ReturnType<typeof r>>, events?: EventBus) =>
    assess(plan({ release: rel, from: '1.0.0', to: '2.0.0' }), {
      ...assessOnly,
      release: rel,
      connections: { main: flaky },
      backup: { datasources: [] },
      quality: { retryDelayMs: 20 },
      ...(events ? { events } : {}),
    });

  it('recovers when the network does, within the retries', async () => {
    const rel = await r();
    proxy.set({ cutAfterBytes: 1 });
    const bus = new EventBus();
    const retries: RetryEvent[] = [];
    bus.on('retry', (e) => {
      retries.push(e);
      if (retries.length === 2) proxy.set({});
    });
    const report = await throughProxy(rel, bus);
    const check = report.dataQuality.checks[0]!;
    expect(check).toMatchObject({ status: 'pass', attempts: 3 });
    expect(retries.map((e) => e.reason)).toEqual(['network', 'network']);
  });

  it('gives up after 1 + 3 attempts and fails naming the check and the datasource', async () => {
    const rel = await r();
    proxy.set({ cutAfterBytes: 1 });
    const report = await throughProxy(rel);
    proxy.set({});
    const check = report.dataQuality.checks[0]!;
    expect(check).toMatchObject({ status: 'fail', attempts: 4 });
    expect(check.detail).toMatch(/^check rows: datasource "main" unreachable after 4 attempts/);
    expect(report.verdict).toBe('fail');
  });
});
