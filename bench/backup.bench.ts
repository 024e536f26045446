// Backup and rollback of a ≥ 200 MB database plus a ≥ 500 MB program directory (issue 7), beside
// the plain tools an operator would otherwise run by hand, in the same process on the same data:
//   backup:   `mariadb-dump --single-transaction` / `pg_dump`  +  `tar czf`        vs createBackup
//   rollback: `mariadb < dump` / `psql -f dump`  then  `tar xzf`  (one after the other)
//             vs Rollback.auto sequential  vs  Rollback.auto parallel (target ≤ 0.7× sequential).
// Sizes: BENCH_DB_MB (default 200), BENCH_APP_MB (default 500). Engines: BENCH_ENGINES=mariadb,postgres.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import knexFactory from 'knex';
import { createBackup, Rollback, StateStore } from '../packages/core/src/index.js';
import { createTestDatabase, requireService, type TestDatabase } from '../test/support/index.js';

const run = promisify(execFile);
const out = (line: string) => process.stdout.write(`${line}\n`);
const DB_MB = Number(process.env.BENCH_DB_MB ?? 200);
const APP_MB = Number(process.env.BENCH_APP_MB ?? 500);
const ENGINES = (process.env.BENCH_ENGINES ?? 'mariadb,postgres').split(',') as ('mariadb' | 'postgres')[];
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MB`;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/**
 * A program directory like a Java service's: jars (zip files — already compressed, so random bytes
 * are the honest stand-in), some compressible scripts and config, and logs that are excluded.
 */
async function makeProgramDir(dir: string, megabytes: number): Promise<void> {
  for (let i = 0; i < megabytes; i++) {
    const sub = join(dir, 'lib', `m${i % 20}`);
    await mkdir(sub, { recursive: true });
    // Four in five files are jars; the rest text that gzip shrinks a lot.
    const body = i % 5 === 4 ? Buffer.from('key=value # comment\n'.repeat(52_429)) : randomBytes(1048576);
    await writeFile(join(sub, i % 5 === 4 ? `conf-${i}.properties` : `part-${i}.jar`), body);
  }
  await mkdir(join(dir, 'conf'), { recursive: true });
  await writeFile(join(dir, 'conf', 'app.properties'), 'port=8080\n');
  await mkdir(join(dir, 'logs'), { recursive: true });
  await writeFile(join(dir, 'logs', 'app.log'), 'log\n'.repeat(100_000));
}

async function fillDatabase(
  db: TestDatabase,
  engine: 'mariadb' | 'postgres',
  megabytes: number,
): Promise<void> {
  const knex = knexFactory(db.config);
  const rowsWanted = megabytes * 1000; // ~1 KB per row
  if (engine === 'mariadb') {
    await knex.raw(
      'CREATE TABLE payload (id INT AUTO_INCREMENT PRIMARY KEY, k INT, body VARCHAR(1100)) ENGINE=InnoDB',
    );
    await knex.raw('INSERT INTO payload (k, body) SELECT seq, REPEAT(MD5(RAND()), 31) FROM seq_1_to_1000');
    for (let n = 1000; n < rowsWanted; n *= 2) {
      await knex.raw('INSERT INTO payload (k, body) SELECT k, REPEAT(MD5(RAND()), 31) FROM payload LIMIT ?', [
        Math.min(n, rowsWanted - n),
      ]);
    }
    await knex.raw('CREATE TABLE small (id INT PRIMARY KEY, v VARCHAR(20))');
  } else {
    await knex.raw('CREATE TABLE payload (id SERIAL PRIMARY KEY, k INT, body TEXT)');
    await knex.raw(
      `INSERT INTO payload (k, body) SELECT g, repeat(md5(random()::text), 31) FROM generate_series(1, ${rowsWanted}) g`,
    );
    await knex.raw('CREATE TABLE small (id INT PRIMARY KEY, v VARCHAR(20))');
  }
  await knex.destroy();
}

/** What an operator runs by hand to back up: the dump tool, then tar. */
async function plainBackup(db: TestDatabase, engine: 'mariadb' | 'postgres', app: string, dir: string) {
  const c = db.connection;
  const dump = join(dir, 'plain.sql');
  const dumpMs = await time(() =>
    engine === 'mariadb'
      ? run('mariadb-dump', [
          `--host=${c.host}`,
          `--port=${c.port}`,
          `--user=${c.user}`,
          '--single-transaction',
          `--result-file=${dump}`,
          '--databases',
          c.database,
        ])
      : run('pg_dump', [
          `--host=${c.host}`,
          `--port=${c.port}`,
          `--username=${c.user}`,
          '--create',
          `--file=${dump}`,
          c.database,
        ]),
  );
  const tarMs = await time(() =>
    run('tar', ['czf', join(dir, 'plain.tar.gz'), '-C', app, '--exclude=logs', '.']),
  );
  return { dumpMs, tarMs, dump, archive: join(dir, 'plain.tar.gz') };
}

function pipeInto(argv: string[], file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'inherit'] });
    createReadStream(file).pipe(child.stdin);
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${argv[0]} exited ${code}`))));
  });
}

/** What an operator runs by hand to roll back: load the dump, then untar — one after the other. */
async function plainRestore(
  db: TestDatabase,
  engine: 'mariadb' | 'postgres',
  plain: { dump: string; archive: string },
  app: string,
) {
  const c = db.connection;
  const dbMs = await time(async () => {
    if (engine === 'mariadb') {
      await pipeInto(['mariadb', `--host=${c.host}`, `--port=${c.port}`, `--user=${c.user}`], plain.dump);
    } else {
      const admin = [`--host=${c.host}`, `--port=${c.port}`, `--username=${c.user}`, '-X', '-q'];
      await run('psql', [
        ...admin,
        '--dbname=postgres',
        `--command=DROP DATABASE "${c.database}" WITH (FORCE)`,
      ]);
      await run('psql', [...admin, '-v', 'ON_ERROR_STOP=1', '--dbname=postgres', `--file=${plain.dump}`]);
    }
  });
  await rm(app, { recursive: true, force: true });
  await mkdir(app, { recursive: true });
  const tarMs = await time(() => run('tar', ['xzf', plain.archive, '-C', app]));
  return { dbMs, tarMs };
}

for (const engine of ENGINES) {
  if (!(await requireService(engine))) continue;
  const db = await createTestDatabase(engine, 'uk_bench_bk');
  const work = await mkdtemp(join(tmpdir(), 'uk-bench-backup-'));
  try {
    out(
      `\n${engine === 'mariadb' ? 'MariaDB' : 'PostgreSQL'}: ~${DB_MB} MB of rows, a ${APP_MB} MB program directory`,
    );
    const app = join(work, 'app');
    await Promise.all([fillDatabase(db, engine, DB_MB), makeProgramDir(app, APP_MB)]);
    const spec = {
      engine,
      database: db.name,
      host: db.connection.host,
      port: db.connection.port,
      user: db.connection.user,
    };

    const plain = await plainBackup(db, engine, app, work);
    const plainMs = plain.dumpMs + plain.tarMs;
    const root = join(work, 'backup');
    let backupId = '';
    const oursMs = await time(async () => {
      const result = await createBackup({
        root,
        component: 'bench',
        versionFrom: '1',
        versionTo: '2',
        programDir: app,
        databases: [spec],
      });
      if (result.status !== 'completed') throw result.error;
      backupId = result.backupId;
    });
    const dumpSize = (await stat(join(root, backupId, 'database_backup.sql'))).size;
    const archiveSize = (await stat(join(root, backupId, 'program_directory.tar.gz'))).size;
    out(
      `  backup, plain tools: ${engine === 'mariadb' ? 'mariadb-dump' : 'pg_dump'} ${s(plain.dumpMs)} + tar czf ${s(plain.tarMs)} = ${s(plainMs)}`,
    );
    out(
      `  backup, createBackup (dump + tar.gz + sha256 + verification + manifest): ${s(oursMs)}  (dump ${mb(dumpSize)}, archive ${mb(archiveSize)})`,
    );
    out(`  ratio createBackup / plain tools: ${(oursMs / plainMs).toFixed(2)}×`);

    const state = await StateStore.open({ filename: join(work, 'state.sqlite') });
    const rollbackMs = async (parallel: boolean) => {
      const rollback = new Rollback({
        state,
        component: 'bench',
        root,
        databases: [spec],
        yes: true,
        parallel,
      });
      let steps = '';
      const ms = await time(async () => {
        const result = await rollback.auto(backupId);
        if (result.status !== 'completed') throw result.error ?? new Error(result.message);
        steps = result.steps.map((r) => `${r.step}: ${s(r.durationMs ?? 0)}`).join(', ');
      });
      return { ms, steps };
    };
    // Warm the page cache once so the first measured run is not penalised.
    await rollbackMs(true);
    const sequential = await rollbackMs(false);
    const parallel = await rollbackMs(true);
    const plainRestoreMs = await plainRestore(db, engine, plain, app);
    const plainTotal = plainRestoreMs.dbMs + plainRestoreMs.tarMs;
    out(
      `  rollback, plain tools one after the other: load dump ${s(plainRestoreMs.dbMs)} + tar xzf ${s(plainRestoreMs.tarMs)} = ${s(plainTotal)}`,
    );
    out(
      `  rollback, Rollback.auto sequential (verify, move aside, restore, compare, verify, drop aside): ${s(sequential.ms)}  [steps ${sequential.steps}]`,
    );
    out(`  rollback, Rollback.auto parallel: ${s(parallel.ms)}  [steps ${parallel.steps}]`);
    const ratio = parallel.ms / sequential.ms;
    out(
      `  ratio parallel / sequential: ${ratio.toFixed(2)}×  (target ≤ 0.70: ${ratio <= 0.7 ? 'PASS' : 'MISS'})`,
    );
    out(`  ratio parallel / plain tools: ${(parallel.ms / plainTotal).toFixed(2)}×`);
    await state.close();
  } finally {
    if (engine === 'mariadb') {
      const knex = knexFactory(db.config);
      const [rows] = await knex.raw('SHOW DATABASES LIKE ?', [`${db.name}_uk%`]);
      for (const row of rows as Record<string, string>[])
        await knex.raw(`DROP DATABASE \`${Object.values(row)[0]}\``);
      await knex.destroy();
    }
    await db.drop();
    await rm(work, { recursive: true, force: true });
  }
}
