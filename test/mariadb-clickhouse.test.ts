// examples/mariadb-clickhouse as an operator runs it: the README's own command lines, run by the
// built `upgradekit` bin in a child process, from a directory laid out as the README assumes
// (examples/mariadb-clickhouse, sites/site-042.yaml), against a fresh MariaDB database and a fresh
// ClickHouse database per site; the seed's .properties package unchanged. One site takes 2.16.6,
// gets orders from "the application", then 2.16.7; another takes both versions at once; a third
// runs the package as it was before its stages were fixed, where `plan` warns and `run` refuses.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { loadRelease, loadSiteConfig } from '@upgradekit/core';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  createTestDatabase,
  requireService,
  type Spawned,
  settings,
  spawnAsync,
  type TestDatabase,
} from '#test-support';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'packages/cli/bin/upgradekit.js');
const example = join(root, 'examples/mariadb-clickhouse');

const [hasMariaDB, hasClickHouse] = await Promise.all([
  requireService('mariadb'),
  requireService('clickhouse'),
]);

/** Every `upgradekit …` line of the README's sh blocks, as argument lists (comments dropped). */
const README = [...readFileSync(join(example, 'README.md'), 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)]
  .flatMap((m) => (m[1] as string).split('\n'))
  .map((line) => line.replace(/\s#.*$/, '').trim())
  .filter((line) => line.startsWith('upgradekit '))
  .map((line) => line.split(/\s+/).slice(1));

/** The README's command for this upgrade; a test that needs one the README lacks fails here. */
function readme(command: 'plan' | 'run', from: string, to: string): string[] {
  const found = README.find(
    (a) => a[0] === command && a[a.indexOf('--from') + 1] === from && a[a.indexOf('--to') + 1] === to,
  );
  if (!found)
    throw new Error(`examples/mariadb-clickhouse/README.md has no \`upgradekit ${command}\` ${from} → ${to}`);
  return found;
}

/** Every README command for this upgrade, in the README's order: a stop-mode run is several. */
function readmeAll(command: 'run', from: string, to: string): string[][] {
  const all = README.filter(
    (a) => a[0] === command && a[a.indexOf('--from') + 1] === from && a[a.indexOf('--to') + 1] === to,
  );
  if (all.length === 0)
    throw new Error(`examples/mariadb-clickhouse/README.md has no \`upgradekit ${command}\` ${from} → ${to}`);
  return all;
}

/** What the application writes while the site runs 2.16.6. */
const ORDERS = [
  { customer_id: 1, total_cents: 1250, status: 'paid', created_at: '2026-11-01 09:15:00' },
  { customer_id: 1, total_cents: 990, status: 'cancelled', created_at: '2026-11-01 17:40:00' },
  { customer_id: 2, total_cents: 4000, status: 'new', created_at: '2026-11-02 08:05:00' },
  { customer_id: 1, total_cents: 310, status: 'new', created_at: '2026-11-02 23:59:59' },
];

/** One customer site: its databases, and the directory its operator runs the README's commands in. */
interface Site {
  readonly maria: mysql.Connection;
  readonly clickhouse: ClickHouseClient;
  readonly events: string;
  cli(args: readonly string[]): Promise<Spawned>;
  /** Each command in turn, every one succeeding; their output together. */
  cliAll(commands: readonly (readonly string[])[]): Promise<{ stdout: string; stderr: string }>;
  chRows<T>(query: string): Promise<T[]>;
  close(): Promise<void>;
}

/** A fresh site whose `examples/mariadb-clickhouse` is `release` (the example unless given). */
async function openSite(release = example): Promise<Site> {
  const cwd = mkdtempSync(join(tmpdir(), 'uk-mc-'));
  mkdirSync(join(cwd, 'examples'));
  symlinkSync(release, join(cwd, 'examples/mariadb-clickhouse'));
  const events = `uk_mc_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = createClient(settings.clickhouse);
  await admin.command({ query: `CREATE DATABASE ${events}` });
  const clickhouse = createClient({ ...settings.clickhouse, database: events });
  const db: TestDatabase = await createTestDatabase('mariadb', 'uk_mc');
  const maria = await mysql.createConnection(db.connection);
  mkdirSync(join(cwd, 'sites'));
  // The passwords are named, never written: the CLI reads them from these variables.
  writeFileSync(
    join(cwd, 'sites/site-042.yaml'),
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
  const cli = (args: readonly string[]) => {
    const env: Record<string, string | undefined> = { ...process.env, CI: 'true', NO_COLOR: '1' };
    delete env.UPGRADEKIT_CONFIG;
    delete env.UPGRADEKIT_SITE;
    return spawnAsync(process.execPath, [bin, ...args], {
      cwd,
      env: {
        ...env,
        UK_TEST_MAIN_PASSWORD: settings.mariadb.password,
        UK_TEST_EVENTS_PASSWORD: settings.clickhouse.password,
      },
      timeout: 60_000,
    });
  };
  return {
    maria,
    clickhouse,
    events,
    cli,
    async cliAll(commands) {
      let stdout = '';
      let stderr = '';
      for (const args of commands) {
        const r = await cli(args);
        stdout += r.stdout;
        stderr += r.stderr;
        expect(r.status, `upgradekit ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
      }
      return { stdout, stderr };
    },
    async chRows<T>(query: string) {
      return (await clickhouse.query({ query, format: 'JSONEachRow' })).json<T>();
    },
    async close() {
      await maria.end();
      await clickhouse.close();
      await admin.command({ query: `DROP DATABASE IF EXISTS ${events}` });
      await admin.close();
      await db.drop();
    },
  };
}

/** Tables in both databases, without upgradekit's own: [] on a site nothing has touched. */
async function tables(site: Site): Promise<string[]> {
  const [maria] = (await site.maria.query(
    'SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()',
  )) as unknown as [Array<{ name: string }>];
  const events = await site.chRows<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = '${site.events}'`,
  );
  return [...maria, ...events]
    .map((t) => t.name)
    .filter((name) => !name.startsWith('upgradekit_'))
    .sort();
}

/** What 2.16.7 looks like, however the site got there. */
async function expect2167Schema(site: Site): Promise<void> {
  // MariaDB: the column, the index, and a procedure whose body survived the DELIMITER block.
  const [note] = await site.maria.query(
    "SELECT COLUMN_TYPE AS type, IS_NULLABLE AS nullable FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'orders' AND COLUMN_NAME = 'note'",
  );
  expect(note).toEqual([{ type: 'varchar(500)', nullable: 'YES' }]);
  const [index] = await site.maria.query(
    "SELECT COLUMN_NAME AS c FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'orders' AND INDEX_NAME = 'idx_orders_customer_created' ORDER BY SEQ_IN_INDEX",
  );
  expect(index).toEqual([{ c: 'customer_id' }, { c: 'created_at' }]);
  const [routines] = await site.maria.query(
    'SELECT ROUTINE_NAME AS name, ROUTINE_TYPE AS type FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()',
  );
  expect(routines).toEqual([{ name: 'customer_order_total', type: 'PROCEDURE' }]);
  // ClickHouse: the MergeTree table with the new column after `kind` and its default; the daily
  // totals fed by a materialized view.
  const [engine] = await site.chRows<{ engine: string; sorting_key: string }>(
    `SELECT engine, sorting_key FROM system.tables WHERE database = '${site.events}' AND name = 'order_events'`,
  );
  expect(engine).toEqual({ engine: 'MergeTree', sorting_key: 'event_date, order_id' });
  const columns = await site.chRows<{ name: string; default_expression: string }>(
    `SELECT name, default_expression FROM system.columns WHERE database = '${site.events}' AND table = 'order_events'`,
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
  expect(await tables(site)).toEqual(['order_daily', 'order_daily_mv', 'order_events', 'orders']);
}

const ALL_2167_TASKS = [
  'Add order_events.channel',
  'Add orders.note and the (customer_id, created_at) index',
  'Create the customer_order_total procedure',
  'Create order_daily, fed from order_events by a materialized view',
  'Copy existing orders into order_events',
];

describe.runIf(hasMariaDB && hasClickHouse)('examples/mariadb-clickhouse, one version at a time', () => {
  let site: Site;
  beforeAll(async () => {
    site = await openSite();
  });
  afterAll(() => site?.close());

  async function orderEventCount(): Promise<number> {
    const [row] = await site.chRows<{ n: string }>('SELECT count() AS n FROM order_events');
    return Number(row?.n);
  }

  it('takes 2.16.6 on a fresh site: MariaDB orders and the ClickHouse MergeTree table', async () => {
    const r = await site.cli(readme('run', '2.16.5', '2.16.6'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('[SUCCESS] Create the orders table');
    expect(r.stdout).toContain('[SUCCESS] Create the ClickHouse order_events table');
    expect(await tables(site)).toEqual(['order_events', 'orders']);
    for (const o of ORDERS) {
      await site.maria.query(
        'INSERT INTO orders (customer_id, total_cents, status, created_at) VALUES (?, ?, ?, ?)',
        [o.customer_id, o.total_cents, o.status, o.created_at],
      );
    }
  });

  it('plans the orchestration override and stops for the task without compatible_version', async () => {
    const planned = await site.cli(readme('plan', '2.16.6', '2.16.7'));
    expect(planned.status, planned.stderr).toBe(0);
    expect(planned.stdout).not.toContain('WARNING');
    const plan = await site.cli([...readme('plan', '2.16.6', '2.16.7'), '--json']);
    expect(plan.status, plan.stderr).toBe(0);
    const doc = JSON.parse(plan.stdout) as {
      plan: {
        mode: string;
        stages: Record<string, Array<{ id: string; kind: string }>>;
        orderWarnings: unknown[];
      };
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
    expect(doc.plan.orderWarnings).toEqual([]);

    // The README's run without its --yes: exit 3, an operator must confirm the unannotated task.
    const r = await site.cli(readme('run', '2.16.6', '2.16.7').filter((a) => a !== '--yes'));
    expect(r.status, r.stderr).toBe(3);
    expect(`${r.stdout}${r.stderr}`).toMatch(/add_order_note.*\(2\.16\.7\)/);
    expect(await tables(site)).toEqual(['order_events', 'orders']);
    const [columns] = await site.maria.query(
      "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'orders' AND COLUMN_NAME = 'note'",
    );
    expect(columns).toEqual([]);
  });

  it('upgrades 2.16.6 → 2.16.7 once confirmed: MariaDB column, index and procedure; ClickHouse column, view and backfill', async () => {
    const r = await site.cliAll(readmeAll('run', '2.16.6', '2.16.7'));
    expect(r.stdout).toContain(
      'order-center 2.16.6 → 2.16.7 on site site-test: paused after preUpgrade for the services to be stopped',
    );
    for (const name of ALL_2167_TASKS) expect(r.stdout).toContain(`[SUCCESS] ${name}`);
    expect(r.stderr).toContain(`copied ${ORDERS.length} orders into order_events`);
    await expect2167Schema(site);

    await site.maria.query('CALL customer_order_total(1, @total)');
    const [[spent]] = (await site.maria.query('SELECT @total AS total')) as unknown as [[{ total: unknown }]];
    const expected = ORDERS.filter((o) => o.customer_id === 1 && o.status !== 'cancelled').reduce(
      (sum, o) => sum + o.total_cents,
      0,
    );
    expect(Number(spent.total)).toBe(expected);

    // ClickHouse: the backfill and the daily totals.
    const copied = await site.chRows<{ order_id: string; amount_cents: string; event_time: string }>(
      'SELECT order_id, amount_cents, toString(event_time) AS event_time FROM order_events ORDER BY order_id',
    );
    expect(copied).toEqual(
      ORDERS.map((o, i) => ({
        order_id: String(i + 1),
        amount_cents: String(o.total_cents),
        event_time: o.created_at,
      })),
    );
    const daily = await site.chRows<{ day: string; orders: string; amount_cents: string }>(
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
    const r = await site.cli(readme('run', '2.16.6', '2.16.7'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /Nothing to do: order-center 2\.16\.6 → 2\.16\.7 on site site-test — all 5 steps are already done\./,
    );
    expect(r.stdout).not.toContain('[SUCCESS]');
    expect(await orderEventCount()).toBe(ORDERS.length);
  });
});

describe.runIf(hasMariaDB && hasClickHouse)('examples/mariadb-clickhouse, both versions at once', () => {
  let site: Site;
  beforeAll(async () => {
    site = await openSite();
  });
  afterAll(() => site?.close());

  it('plans 2.16.6 and 2.16.7 stage by stage, each stage in version order, with no warning', async () => {
    const text = await site.cli(readme('plan', '2.16.5', '2.16.7'));
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).not.toContain('WARNING');
    const json = await site.cli([...readme('plan', '2.16.5', '2.16.7'), '--json']);
    const { plan } = JSON.parse(json.stdout) as {
      plan: { stages: Record<string, Array<{ id: string }>>; orderWarnings: unknown[] };
    };
    // 2.16.6's CREATE of order_events runs before 2.16.7's ALTER of it, both before the stop.
    expect(plan.stages.preUpgrade?.map((t) => t.id)).toEqual(['create_order_events', 'add_event_channel']);
    expect(plan.orderWarnings).toEqual([]);
  });

  it('runs end to end on a fresh site, to the schema the one-at-a-time site has', async () => {
    const r = await site.cliAll(readmeAll('run', '2.16.5', '2.16.7'));
    for (const name of [
      'Create the ClickHouse order_events table',
      'Create the orders table',
      ...ALL_2167_TASKS,
    ]) {
      expect(r.stdout).toContain(`[SUCCESS] ${name}`);
    }
    expect(r.stdout).toContain('order-center 2.16.5 → 2.16.7 on site site-test, stage postStart: succeeded');
    await expect2167Schema(site);
  });
});

describe.runIf(hasMariaDB && hasClickHouse)(
  'examples/mariadb-clickhouse before its fix (2.16.6 created order_events in in_stop)',
  () => {
    let site: Site;
    beforeAll(async () => {
      const before = mkdtempSync(join(tmpdir(), 'uk-mc-before-'));
      cpSync(example, before, { recursive: true });
      const file = join(before, 'versions/2.16.6/upgrade_tasks_V2.16.6.properties');
      const text = readFileSync(file, 'utf8');
      expect(text).toContain('sql.002.stage=pre_stop');
      writeFileSync(file, text.replace('sql.002.stage=pre_stop', 'sql.002.stage=in_stop'));
      site = await openSite(before);
    });
    afterAll(() => site?.close());

    const warning =
      'add_event_channel (2.16.7) runs in pre_stop (preUpgrade), set by versions/2.16.7/upgrade_orchestration_V2.16.7.properties:4, before older work on datasource events it may need: create_order_events (2.16.6, in_stop)';

    it('plan warns, in text and JSON', async () => {
      const text = await site.cli(readme('plan', '2.16.5', '2.16.7'));
      expect(text.status, text.stderr).toBe(0);
      expect(text.stdout).toContain(`WARNING — tasks run ahead of older versions' work they may need`);
      expect(text.stdout).toContain(`    - ${warning}`);
      const json = await site.cli([...readme('plan', '2.16.5', '2.16.7'), '--json']);
      expect(JSON.parse(json.stdout).plan.orderWarnings).toEqual([
        {
          code: 'PLAN_STAGE_ORDER',
          task: { id: 'add_event_channel', version: '2.16.7', stage: 'pre_stop', datasource: 'events' },
          override: { file: 'versions/2.16.7/upgrade_orchestration_V2.16.7.properties', line: 4 },
          runsBefore: [
            { id: 'create_order_events', version: '2.16.6', stage: 'in_stop', datasource: 'events' },
          ],
          message: warning,
        },
      ]);
    });

    it('run refuses with exit 3 and changes nothing until confirmed; confirmed, it fails as warned', async () => {
      const command = readme('run', '2.16.5', '2.16.7').filter((a) => a !== '--yes');
      const whole = await site.cli([...command, '--json']);
      expect(whole.status, whole.stderr).toBe(3);
      const assessment = JSON.parse(whole.stdout).assessment as {
        compatibility: { checks: Array<{ id: string; status: string; detail: string }> };
      };
      expect(assessment.compatibility.checks).toContainEqual(
        expect.objectContaining({
          id: 'compatibility.stageOrder',
          status: 'warn',
          detail: expect.stringContaining(warning),
        }),
      );
      // A CI cut-point does not assess: the run itself asks.
      const stage = await site.cli([...command, '--stage', 'preUpgrade', '--json']);
      expect(stage.status, stage.stderr).toBe(3);
      expect(stage.stderr).toContain(`task order across versions: ${warning}`);
      expect(JSON.parse(stage.stdout)).toMatchObject({
        status: 'needs-decision',
        orderWarnings: [{ task: { id: 'add_event_channel' } }],
      });
      expect(await tables(site)).toEqual([]);

      const confirmed = await site.cli([...command, '--stage', 'preUpgrade', '--yes']);
      expect(confirmed.status).toBe(1);
      expect(confirmed.stdout).toMatch(/\[FAILED\] Add order_events\.channel .*order_events doesn't exist/);
    });
  },
);

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
