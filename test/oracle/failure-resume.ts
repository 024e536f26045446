// Issue 15's oracle trials, shared by `npm test` (a sampled few) and `npm run test:soak` (every
// session-statement and COMMIT boundary, and a seeded sample of others): a failing statement is
// injected into a public dump at a statement boundary, the run fails, the fault is removed, the run
// is repeated — and the database must equal one clean load by the database's own client.
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { classifyStatement, splitStatements } from '@upgradekit/core';
import knexFactory from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareRelease, runOnce, writeRelease } from '../../packages/core/test/migrate/support.js';
import {
  createTestDatabase,
  type DumpFixture,
  diffSnapshots,
  fixtureFiles,
  loadWithClient,
  type Snapshot,
  snapshot,
  type TestDatabase,
  withoutBodyComments,
} from '../support/index.js';

export interface Trial {
  /** Which file of the fixture, and the statement the fault goes in front of (0-based). */
  readonly file: number;
  readonly statement: number;
  readonly why: string;
}

/** The boundaries worth a trial: before every session statement and transaction control, and a seeded sample of the rest. */
export function boundaries(
  fixture: DumpFixture,
  sample: number,
  seed: number,
  maxInteresting = Number.POSITIVE_INFINITY,
): Trial[] {
  const dialect = fixture.engine === 'mariadb' ? 'mysql' : 'postgres';
  const out: Trial[] = [];
  let rng = seed;
  const random = () => {
    rng = (rng * 1103515245 + 12345) % 2 ** 31;
    return rng / 2 ** 31;
  };
  fixture.files.forEach((path, file) => {
    const statements = splitStatements(readFileSync(path, 'utf8'), dialect, basename(path));
    const others: Trial[] = [];
    const interesting: Trial[] = [];
    statements.forEach((s, k) => {
      if (k === 0) return;
      const c = classifyStatement(s.sql, dialect);
      const previous = classifyStatement(statements[k - 1]!.sql, dialect);
      const why =
        c.transactionControl ??
        (c.changesSession
          ? 'session'
          : previous.transactionControl
            ? `after ${previous.transactionControl}`
            : '');
      if (why) interesting.push({ file, statement: k, why });
      else others.push({ file, statement: k, why: 'sample' });
    });
    // A mysqldump has a session statement around every table (539 in Dolibarr's): past the cap, a
    // seeded sample of them.
    while (interesting.length > maxInteresting)
      interesting.splice(Math.floor(random() * interesting.length), 1);
    out.push(...interesting);
    for (let i = 0; i < sample && others.length > 0; i++)
      out.push(others.splice(Math.floor(random() * others.length), 1)[0]!);
  });
  return out;
}

export function failureTrials(fixture: DumpFixture, trials: readonly Trial[]): void {
  const dialect = fixture.engine === 'mariadb' ? 'mysql' : 'postgres';
  const fault = fixture.engine === 'mariadb' ? 'SELEC 1;' : 'SELECT 1/0;';
  const view = (s: Snapshot) => (fixture.clientStripsComments ? withoutBodyComments(s) : s);
  describe(`${fixture.name}: a failure at a statement boundary, fixed and resumed, equals the client's load`, () => {
    let oracle: Snapshot;
    let oracleDb: TestDatabase;
    beforeAll(async () => {
      oracleDb = await createTestDatabase(fixture.engine, 'oracle');
      const work = mkdtempSync(join(tmpdir(), 'uk-trial-oracle-'));
      await loadWithClient(fixture.engine, oracleDb.name, await fixtureFiles(fixture, oracleDb.name, work), {
        comments: !fixture.clientStripsComments,
      });
      oracle = view(await snapshot(fixture.engine, oracleDb.name));
    }, 120_000);
    afterAll(() => oracleDb?.drop());

    for (const trial of trials) {
      it(`fault before statement ${trial.statement + 1} of ${basename(fixture.files[trial.file]!)} (${trial.why})`, async () => {
        const db = await createTestDatabase(fixture.engine, 'trial');
        const knex = knexFactory(db.config);
        const started = Date.now();
        let passed = false;
        try {
          const files = await fixtureFiles(fixture, db.name, mkdtempSync(join(tmpdir(), 'uk-trial-')));
          const sources = files.map((f) => readFileSync(f, 'utf8'));
          const target = sources[trial.file]!;
          const line = splitStatements(target, dialect, 'f')[trial.statement]!.line;
          const lines = target.split('\n');
          const faulty = [...lines.slice(0, line - 1), fault, ...lines.slice(line - 1)].join('\n');
          const release = (which: number, text: string) =>
            Object.fromEntries(sources.map((s, i) => [`versions/1.1.0/f${i}.sql`, i === which ? text : s]));
          const tasks = `tasks:\n${sources.map((_, i) => `  - { id: f${i}, kind: sql, stage: in_stop, file: f${i}.sql }`).join('\n')}\n`;
          const type = fixture.engine === 'mariadb' ? 'mariadb' : 'postgres';
          const dir = writeRelease(
            mkdtempSync(join(tmpdir(), 'uk-trial-rel-')),
            type,
            release(trial.file, faulty),
            tasks,
          );
          const state = { filename: join(dir, 'state.sqlite') };
          const failed = await runOnce(dir, knex, state);
          expect(failed.status).toBe('failed');
          // What status says after each step of the sequence: the failed task, then done.
          const statusOf = async () => {
            const upgrade = await prepareRelease(dir, knex, state);
            try {
              return (await upgrade.status()).steps.find((s) => s.id === `f${trial.file}`);
            } finally {
              await upgrade.close();
            }
          };
          expect((await statusOf())?.status).toBe('failed');
          writeFileSync(join(dir, `versions/1.1.0/f${trial.file}.sql`), target);
          const resumed = await runOnce(dir, knex, state);
          const bad = resumed.steps.find((s) => s.error)?.error;
          expect(resumed.status, `${bad?.message}\n${bad?.stack}`).toBe('succeeded');
          expect((await statusOf())?.status).toBe('succeeded');
          expect(diffSnapshots(oracle, view(await snapshot(fixture.engine, db.name)))).toEqual([]);
          passed = true;
        } finally {
          // The soak's figures survive a run that is stopped part-way: one JSON line per trial.
          if (process.env.UPGRADEKIT_SOAK_LOG)
            appendFileSync(
              process.env.UPGRADEKIT_SOAK_LOG,
              `${JSON.stringify({ fixture: fixture.name, file: basename(fixture.files[trial.file]!), statement: trial.statement + 1, why: trial.why, passed, ms: Date.now() - started })}\n`,
            );
          await knex.destroy();
          await db.drop();
        }
      }, 120_000);
    }
  });
}
