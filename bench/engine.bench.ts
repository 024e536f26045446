// Engine overhead per step (1000 no-op steps, every start and end recorded) on SQLite and MariaDB,
// beside knex's own migrator running 1000 no-op migrations on the same database — what a team
// would otherwise use to get "each step once, recorded". Then status() with 100,000 log rows.
// Targets (issue 3): < 1 ms/step SQLite, < 2 ms/step MariaDB, status() < 10 ms.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { createUpgrade, StateStore } from '../packages/core/src/index.js';
import { createTestDatabase, requireService } from '../test/support/index.js';

const STEPS = 1000;
const out = (line: string) => process.stdout.write(`${line}\n`);

function noopMigrations(n: number): Knex.MigrationSource<string> {
  const names = Array.from({ length: n }, (_, i) => `m${String(i).padStart(5, '0')}`);
  return {
    getMigrations: async () => names,
    getMigrationName: (name) => name,
    getMigration: async () => ({ up: async () => {}, down: async () => {} }),
  };
}

async function knexMigrator(config: Knex.Config): Promise<number> {
  const knex = knexFactory(config);
  const started = performance.now();
  await knex.migrate.latest({
    migrationSource: noopMigrations(STEPS),
    tableName: `bench_migrations_${Date.now()}`,
  });
  const ms = performance.now() - started;
  await knex.destroy();
  return ms;
}

async function engine(state: ConstructorParameters<typeof Object>[0], site: string) {
  const upgrade = createUpgrade({
    component: 'bench',
    from: '1.0.0',
    to: '1.0.1',
    site,
    state: state as never,
  });
  for (let i = 0; i < STEPS; i++) upgrade.step('preUpgrade', { id: `noop-${i}`, run: () => {} });
  let started = performance.now();
  const first = await upgrade.runStage('preUpgrade');
  const runMs = performance.now() - started;
  started = performance.now();
  const second = await upgrade.runStage('preUpgrade');
  const resumeMs = performance.now() - started;
  if (first.status !== 'succeeded' || second.steps.some((s) => s.status !== 'skipped'))
    throw new Error('bench run failed');
  return { upgrade, runMs, resumeMs };
}

async function statusWith100k(store: StateStore, upgrade: ReturnType<typeof createUpgrade>): Promise<number> {
  const rows = [];
  for (let i = 0; i < 100_000; i++) {
    rows.push({
      run_id: `bench-run-${i % 500}`,
      component: i % 10 === 0 ? 'bench' : `other-${i % 7}`,
      site: 'bench-site',
      host: '',
      task_id: `task-${i}`,
      task_version: '1.0.1',
      task_name: `task-${i}`,
      version_from: '1.0.0',
      version_to: '1.0.1',
      stage: 'preUpgrade',
      status: 'succeeded',
      attempt: 1,
      start_time: Date.now(),
      end_time: Date.now(),
      duration_ms: 1,
    });
  }
  await store.knex.batchInsert('upgrade_log', rows, 500);
  const times: number[] = [];
  for (let i = 0; i < 25; i++) {
    const started = performance.now();
    await upgrade.status();
    if (i >= 5) times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

function report(
  name: string,
  target: number,
  r: { runMs: number; resumeMs: number },
  knexMs: number,
  statusMs: number,
) {
  const perStep = r.runMs / STEPS;
  out(`\n${name}`);
  out(
    `  upgradekit, 1000 no-op steps (start+end recorded): ${r.runMs.toFixed(0)} ms = ${perStep.toFixed(3)} ms/step  (target < ${target} ms: ${perStep < target ? 'PASS' : 'MISS'})`,
  );
  out(
    `  upgradekit, resume (all 1000 already done):        ${r.resumeMs.toFixed(0)} ms = ${(r.resumeMs / STEPS).toFixed(3)} ms/step`,
  );
  out(
    `  knex migrate.latest, 1000 no-op migrations:        ${knexMs.toFixed(0)} ms = ${(knexMs / STEPS).toFixed(3)} ms/migration`,
  );
  out(`  ratio upgradekit / knex: ${(r.runMs / knexMs).toFixed(2)}×`);
  out(
    `  status() with 100,000 upgrade_log rows: ${statusMs.toFixed(2)} ms (target < 10 ms: ${statusMs < 10 ? 'PASS' : 'MISS'})`,
  );
}

// SQLite
{
  const dir = mkdtempSync(join(tmpdir(), 'uk-bench-'));
  const knexMs = await knexMigrator({
    client: 'better-sqlite3',
    connection: { filename: join(dir, 'knex.sqlite') },
    useNullAsDefault: true,
  });
  const state = { filename: join(dir, 'state.sqlite') };
  const r = await engine(state, 'bench-site');
  const store = await StateStore.open(state);
  const statusMs = await statusWith100k(store, r.upgrade);
  report('SQLite (WAL, synchronous=NORMAL)', 1, r, knexMs, statusMs);
  await store.close();
  await r.upgrade.close();
  rmSync(dir, { recursive: true, force: true });
}

// MariaDB
if (await requireService('mariadb')) {
  const db = await createTestDatabase('mariadb', 'uk_bench');
  try {
    const knexMs = await knexMigrator(db.config);
    const store = await StateStore.open({ config: db.config });
    const r = await engine(store, 'bench-site');
    const statusMs = await statusWith100k(store, r.upgrade);
    report('MariaDB 10.11 (InnoDB, default durability)', 2, r, knexMs, statusMs);
    await r.upgrade.close();
    await store.close();
  } finally {
    await db.drop();
  }
}
