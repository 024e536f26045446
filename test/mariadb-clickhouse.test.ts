// examples/mariadb-clickhouse as an operator runs it: the built `upgradekit` bin in a child
// process, a site configuration pointing at a fresh MariaDB database and a fresh ClickHouse
// database, the seed's .properties package unchanged. Install 2.16.6, let "the application" write
// orders, upgrade to 2.16.7, then check what the databases look like — and that a re-run is a no-op.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@clickhouse/client';
import { loadRelease, loadSiteConfig } from '@upgradekit/core';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createTestDatabase, requireService, settings, type TestDatabase } from './support/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'packages/cli/bin/upgradekit.js');
const example = join(root, 'examples/mariadb-clickhouse');

const [hasMariaDB, hasClickHouse] = await Promise.all([
  requireService('mariadb'),
  requireService('clickhouse'),
]);

/** What the application writes while the site runs 2.16.6. */
const ORDERS = [
  { customer_id: 1, total_cents: 1250, status: 'paid', created_at: '2026-11-01 09:15:00' },
  { customer_id: 1, total_cents: 990, status: 'cancelled', created_at: '2026-11-01 17:40:00' },
  { customer_id: 2, total_cents: 4000, status: 'new', created_at: '2026-11-02 08:05:00' },
  { customer_id: 1, total_cents: 310, status: 'new', created_at: '2026-11-02 23:59:59' },
];

describe.runIf(hasMariaDB && hasClickHouse)('examples/mariadb-clickhouse through the upgradekit CLI', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'uk-mc-'));
  const siteFile = join(cwd, 'site.yaml');
  const events = `uk_mc_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = createClient(settings.clickhouse);
  const clickhouse = createClient({ ...settings.clickhouse, database: events });
  let db: TestDatabase;
  let maria: mysql.Connection;

  beforeAll(async () => {
    db = await createTestDatabase('mariadb', 'uk_mc');
    await admin.command({ query: `CREATE DATABASE ${events}` });
    maria = await mysql.createConnection(db.connection);
    // The passwords are named, never written: the CLI reads them from these variables.
    writeFileSync(
      siteFile,
      stringify({
        site: 'site-test',
        state: { filename: 'state.sqlite' },
        // A whole run is assessed first; CPU idle ≥ 20% cannot be had on a busy 2-core test machine.
        assessment: { thresholds: { cpuIdlePercent: 0 } },
        datasources: {
          main: {
            host: db.connection.host,
            port: db.connection.port,
            user: db.connection.user,
            database: db.name,
            passwordEnv: 'UK_TEST_MAIN_PASSWORD',
          },
          events: {
            url: settings.clickhouse.url,
            user: settings.clickhouse.username,
            database: events,
            passwordEnv: 'UK_TEST_EVENTS_PASSWORD',
          },
        },
      }),
    );
  });

  afterAll(async () => {
    await maria?.end();
    await clickhouse.close();
    await admin.command({ query: `DROP DATABASE IF EXISTS ${events}` });
    await admin.close();
    await db?.drop();
  });

  function cli(args: readonly string[]): SpawnSyncReturns<string> {
    const env: Record<string, string | undefined> = { ...process.env, CI: 'true', NO_COLOR: '1' };
    delete env.UPGRADEKIT_CONFIG;
    delete env.UPGRADEKIT_SITE;
    return spawnSync(process.execPath, [bin, ...args, '--release', example, '--config', siteFile], {
      cwd,
      env: {
        ...env,
        UK_TEST_MAIN_PASSWORD: settings.mariadb.password,
        UK_TEST_EVENTS_PASSWORD: settings.clickhouse.password,
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
  }

  async function chRows<T>(query: string): Promise<T[]> {
    return (await clickhouse.query({ query, format: 'JSONEachRow' })).json<T>();
  }

  async function orderEventCount(): Promise<number> {
    const [row] = await chRows<{ n: string }>('SELECT count() AS n FROM order_events');
    return Number(row?.n);
  }

  it('installs 2.16.6 on a fresh site: MariaDB orders and the ClickHouse MergeTree table', async () => {
    const r = cli(['run', '--from', '2.16.5', '--to', '2.16.6']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('[SUCCESS] Create the orders table');
    expect(r.stdout).toContain('[SUCCESS] Create the ClickHouse order_events table');
    const [engine] = await chRows<{ engine: string; sorting_key: string }>(
      `SELECT engine, sorting_key FROM system.tables WHERE database = '${events}' AND name = 'order_events'`,
    );
    expect(engine).toEqual({ engine: 'MergeTree', sorting_key: 'event_date, order_id' });
    for (const o of ORDERS) {
      await maria.query(
        'INSERT INTO orders (customer_id, total_cents, status, created_at) VALUES (?, ?, ?, ?)',
        [o.customer_id, o.total_cents, o.status, o.created_at],
      );
    }
  });

  it('plans the orchestration override and stops for the task without compatible_version', async () => {
    const plan = spawnSync(
      process.execPath,
      [bin, 'plan', '--json', '--release', example, '--from', '2.16.6', '--to', '2.16.7'],
      { cwd, encoding: 'utf8', env: { ...process.env, CI: 'true', NO_COLOR: '1' } },
    );
    expect(plan.status, plan.stderr).toBe(0);
    const doc = JSON.parse(plan.stdout) as {
      plan: { mode: string; stages: Record<string, Array<{ id: string; kind: string }>> };
    };
    // sql.003 is a sql.{uid} task on the ClickHouse datasource, moved to pre_stop by the
    // orchestration file.
    expect(doc.plan.stages.preUpgrade).toEqual([
      expect.objectContaining({ id: 'add_event_channel', kind: 'clickhouse' }),
    ]);
    expect(doc.plan.stages.preStart?.map((t) => t.id)).toEqual([
      'add_order_note',
      'create_customer_order_total',
    ]);
    expect(doc.plan.stages.postStart?.map((t) => [t.id, t.kind])).toEqual([
      ['create_order_daily', 'clickhouse'],
      ['backfill_order_events', 'tool'],
    ]);
    expect(doc.plan.mode).toBe('stop');

    const r = cli(['run', '--from', '2.16.6', '--to', '2.16.7']);
    // Exit 3: an operator must confirm the unannotated task; the output names it.
    expect(r.status, r.stderr).toBe(3);
    expect(`${r.stdout}${r.stderr}`).toMatch(/add_order_note.*\(2\.16\.7\)/);
    const [columns] = await maria.query(
      "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'orders' AND COLUMN_NAME = 'note'",
    );
    expect(columns).toEqual([]);
  });

  it('upgrades 2.16.6 → 2.16.7 once confirmed: MariaDB column, index and procedure; ClickHouse column, view and backfill', async () => {
    const r = cli(['run', '--from', '2.16.6', '--to', '2.16.7', '--yes']);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    for (const name of [
      'Add order_events.channel',
      'Add orders.note and the (customer_id, created_at) index',
      'Create the customer_order_total procedure',
      'Create order_daily, fed from order_events by a materialized view',
      'Copy existing orders into order_events',
    ]) {
      expect(r.stdout).toContain(`[SUCCESS] ${name}`);
    }
    expect(r.stderr).toContain(`copied ${ORDERS.length} orders into order_events`);

    // MariaDB: the column, the index, and a procedure whose body survived the DELIMITER block.
    const [note] = await maria.query(
      "SELECT COLUMN_TYPE AS type, IS_NULLABLE AS nullable FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'orders' AND COLUMN_NAME = 'note'",
    );
    expect(note).toEqual([{ type: 'varchar(500)', nullable: 'YES' }]);
    const [index] = await maria.query(
      "SELECT COLUMN_NAME AS c FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'orders' AND INDEX_NAME = 'idx_orders_customer_created' ORDER BY SEQ_IN_INDEX",
    );
    expect(index).toEqual([{ c: 'customer_id' }, { c: 'created_at' }]);
    const [routines] = await maria.query(
      'SELECT ROUTINE_NAME AS name, ROUTINE_TYPE AS type FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()',
    );
    expect(routines).toEqual([{ name: 'customer_order_total', type: 'PROCEDURE' }]);
    await maria.query('CALL customer_order_total(1, @total)');
    const [[spent]] = (await maria.query('SELECT @total AS total')) as unknown as [[{ total: unknown }]];
    const expected = ORDERS.filter((o) => o.customer_id === 1 && o.status !== 'cancelled').reduce(
      (sum, o) => sum + o.total_cents,
      0,
    );
    expect(Number(spent.total)).toBe(expected);

    // ClickHouse: the new column after `kind`, its default, the backfill and the daily totals.
    const columns = await chRows<{ name: string; default_expression: string }>(
      `SELECT name, default_expression FROM system.columns WHERE database = '${events}' AND table = 'order_events'`,
    );
    expect(columns.map((c) => c.name)).toEqual([
      'event_date',
      'event_time',
      'order_id',
      'kind',
      'channel',
      'amount_cents',
    ]);
    expect(columns.find((c) => c.name === 'channel')?.default_expression).toBe("'web'");
    const copied = await chRows<{ order_id: string; amount_cents: string; event_time: string }>(
      'SELECT order_id, amount_cents, toString(event_time) AS event_time FROM order_events ORDER BY order_id',
    );
    expect(copied).toEqual(
      ORDERS.map((o, i) => ({
        order_id: String(i + 1),
        amount_cents: String(o.total_cents),
        event_time: o.created_at,
      })),
    );
    const daily = await chRows<{ day: string; orders: string; amount_cents: string }>(
      'SELECT day, sum(orders) AS orders, sum(amount_cents) AS amount_cents FROM order_daily GROUP BY day ORDER BY day',
    );
    const byDay = new Map<string, { orders: number; amount: number }>();
    for (const o of ORDERS) {
      const day = byDay.get(o.created_at.slice(0, 10)) ?? { orders: 0, amount: 0 };
      byDay.set(o.created_at.slice(0, 10), { orders: day.orders + 1, amount: day.amount + o.total_cents });
    }
    expect(daily).toEqual(
      [...byDay].map(([day, v]) => ({ day, orders: String(v.orders), amount_cents: String(v.amount) })),
    );
  });

  it('a second run does nothing and says so', async () => {
    const r = cli(['run', '--from', '2.16.6', '--to', '2.16.7', '--yes']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /Nothing to do: order-center 2\.16\.6 → 2\.16\.7 on site site-test — all 5 steps already done\./,
    );
    expect(r.stdout).not.toContain('[SUCCESS]');
    expect(await orderEventCount()).toBe(ORDERS.length);
  });
});

describe('examples/mariadb-clickhouse/site.example.yaml', () => {
  it('is a valid site configuration for the release, with secrets only by reference', async () => {
    const release = await loadRelease(example);
    const config = loadSiteConfig({ file: join(example, 'site.example.yaml'), env: {} });
    expect(config.site?.id).toBe('site-042');
    expect(Object.keys(config.datasources).sort()).toEqual(Object.keys(release.datasources).sort());
    for (const ds of Object.values(config.datasources)) {
      expect(ds.passwordEnv ?? ds.passwordFile).toBeTruthy();
    }
    expect(config.state).toMatchObject({ client: 'mariadb', passwordEnv: 'UPGRADEKIT_STATE_PASSWORD' });
  });
});
