// 1000 trivial SQL tasks through upgradekit (release → plan → steps, start and end of every task
// recorded, each task exactly-once) beside knex's own migrate.latest running the same 1000
// statements as migrations — on SQLite and MariaDB. Target (issue 4): ≤ 1.5× knex.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { addPlanSteps, createUpgrade, loadRelease, plan } from '../packages/core/src/index.js';
import { createTestDatabase, requireService } from '../test/support/index.js';

const N = 1000;
const out = (line: string) => process.stdout.write(`${line}\n`);
const statement = (i: number) => `INSERT INTO bench_rows (id, v) VALUES (${i}, ${i * 2})`;

function writeRelease(dir: string, type: string): void {
  mkdirSync(join(dir, 'versions/1.0.1/sql'), { recursive: true });
  writeFileSync(
    join(dir, 'upgradekit.yaml'),
    `component: bench\ndatasources:\n  main: { type: ${type} }\ndefaults:\n  datasource: main\n`,
  );
  const tasks = [];
  for (let i = 0; i < N; i++) {
    writeFileSync(join(dir, `versions/1.0.1/sql/t${i}.sql`), `${statement(i)};\n`);
    tasks.push(`  - { id: t${i}, kind: sql, stage: in_stop, file: sql/t${i}.sql }`);
  }
  writeFileSync(join(dir, 'versions/1.0.1/tasks.yaml'), `tasks:\n${tasks.join('\n')}\n`);
}

// knex runs a whole batch of migrations in ONE transaction by default (one commit, and a failure at
// migration k undoes 1..k where DDL allows); `disableTransactions` gives a commit per migration,
// which is what upgradekit does per task so that a crash at task k keeps 1..k-1.
async function viaKnex(config: Knex.Config, disableTransactions = false): Promise<number> {
  const knex = knexFactory(config);
  await knex.raw('CREATE TABLE bench_rows (id INT PRIMARY KEY, v INT)');
  const names = Array.from({ length: N }, (_, i) => `m${String(i).padStart(5, '0')}`);
  const started = performance.now();
  await knex.migrate.latest({
    disableTransactions,
    tableName: 'knex_bench_migrations',
    migrationSource: {
      getMigrations: async () => names,
      getMigrationName: (name: string) => name,
      getMigration: async (name: string) => ({
        up: (k: Knex) => k.raw(statement(Number(name.slice(1)))),
        down: async () => {},
      }),
    },
  });
  const ms = performance.now() - started;
  await knex.destroy();
  return ms;
}

async function viaUpgradekit(
  dir: string,
  config: Knex.Config,
  state: object,
): Promise<{ loadMs: number; runMs: number }> {
  const knex = knexFactory(config);
  await knex.raw('CREATE TABLE bench_rows (id INT PRIMARY KEY, v INT)');
  let started = performance.now();
  const release = await loadRelease(dir);
  const upgrade = createUpgrade({
    component: 'bench',
    from: '1.0.0',
    to: '1.0.1',
    site: 'bench',
    state: state as never,
  });
  addPlanSteps(upgrade, plan({ release, from: '1.0.0', to: '1.0.1' }), {
    release,
    connections: { main: knex },
  });
  const loadMs = performance.now() - started;
  started = performance.now();
  const result = await upgrade.runStage('preStart');
  const runMs = performance.now() - started;
  if (result.status !== 'succeeded') throw new Error(`bench run ${result.status}: ${result.error?.message}`);
  await upgrade.close();
  await knex.destroy();
  return { loadMs, runMs };
}

function report(name: string, knexMs: number, knexEachMs: number, ours: { loadMs: number; runMs: number }) {
  const ratio = ours.runMs / knexMs;
  const each = (ms: number) => `${ms.toFixed(0)} ms (${(ms / N).toFixed(3)} ms each)`;
  out(`\n${name}`);
  out(`  knex migrate.latest, one transaction:     ${each(knexMs)}`);
  out(`  knex migrate.latest, disableTransactions: ${each(knexEachMs)}`);
  out(`  upgradekit load + plan + build steps:     ${ours.loadMs.toFixed(0)} ms`);
  out(`  upgradekit run (start/end recorded, exactly once, commit per task): ${each(ours.runMs)}`);
  out(`  ratio upgradekit / knex: ${ratio.toFixed(2)}× (target ≤ 1.5×: ${ratio <= 1.5 ? 'PASS' : 'MISS'})`);
  out(`  ratio upgradekit / knex with a commit per migration: ${(ours.runMs / knexEachMs).toFixed(2)}×`);
}

const sqlite = (filename: string, pool?: Knex.PoolConfig): Knex.Config => ({
  client: 'better-sqlite3',
  connection: { filename },
  useNullAsDefault: true,
  ...(pool ? { pool } : {}),
});

{
  const dir = mkdtempSync(join(tmpdir(), 'uk-bench-sql-'));
  writeRelease(dir, 'sqlite');
  const knexMs = await viaKnex(sqlite(join(dir, 'knex.sqlite')));
  const knexEachMs = await viaKnex(sqlite(join(dir, 'knex-each.sqlite')), true);
  const ours = await viaUpgradekit(dir, sqlite(join(dir, 'app.sqlite'), { min: 1, max: 1 }), {
    filename: join(dir, 'state.sqlite'),
  });
  report('SQLite (state in its own file)', knexMs, knexEachMs, ours);
  rmSync(dir, { recursive: true, force: true });
}

if (await requireService('mariadb')) {
  const dir = mkdtempSync(join(tmpdir(), 'uk-bench-sql-'));
  writeRelease(dir, 'mariadb');
  const [a, b, c] = await Promise.all([
    createTestDatabase('mariadb', 'uk_bknex'),
    createTestDatabase('mariadb', 'uk_bours'),
    createTestDatabase('mariadb', 'uk_beach'),
  ]);
  try {
    const knexMs = await viaKnex(a.config);
    const knexEachMs = await viaKnex(c.config, true);
    const ours = await viaUpgradekit(dir, b.config, { config: b.config });
    report('MariaDB 10.11 (state in the same database)', knexMs, knexEachMs, ours);
  } finally {
    await Promise.all([a.drop(), b.drop(), c.drop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
