/**
 * One fixture kit for every test file: `import { test } from '#test-support'` and ask for what the
 * test needs; each fixture is set up only when a test names it, and torn down after that test,
 * even when it fails.
 *
 * - `db(engine, prefix?)` — a fresh, empty database on the real MariaDB (`'mariadb'`) or
 *   PostgreSQL (`'postgres'`) server, with a `knex` on it; the knex is destroyed and the database
 *   dropped after the test. Call it more than once for more databases.
 * - `state` — a {@link StateStore} opened on a SQLite file in a temporary directory
 *   (`stateFile`), closed after the test.
 * - `sshd(hosts, options?)` — `hosts` throwaway OpenSSH servers on 127.0.0.2, 127.0.0.3, …,
 *   sharing one client key, stopped after the test.
 * - `release(files)` — writes `files` (relative path → content) into a fresh temporary directory
 *   and returns it: a release tree, a site directory, whatever the test lays out.
 * - `tmp` — a fresh temporary directory, removed after the test.
 *
 * For a whole `describe` (many tests on one database), {@link suiteDatabase} creates the
 * database in `beforeAll` and drops it in `afterAll`; its `knex` can be used from the start.
 *
 * For a whole file, {@link sshHostForFile} starts one sshd with an open `SshSession` on it in
 * `beforeAll` and stops both in `afterAll` (one host per file keeps the suite fast).
 *
 * The services still have to be there: guard a file with `describe.runIf(await requireService(…))`
 * as before. Per engine, prefer `describe.each(engines(available))`.
 *
 * @example
 * describe.each(engines({ mariadb: hasMariaDB, postgres: hasPostgres }))('on %s', (engine) => {
 *   test('creates the table', async ({ db, state }) => {
 *     const { knex } = await db(engine);
 *     …
 *   });
 * });
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Plan, SshSession, StateStore, type StateStore as Store } from '@upgradekit/core';
import knexFactory, { type Knex } from 'knex';
import { afterAll, test as base, beforeAll } from 'vitest';
import { createMariaDbUser, plannedDatabase, type TestDatabase } from './databases.js';
import { type SshdHost, type StartSshdOptions, sessionOptions, startSshd, startSshdHosts } from './sshd.js';

export type Engine = 'mariadb' | 'postgres';

/** A database from the `db` fixture: {@link TestDatabase} with a knex already on it. */
export interface FixtureDatabase extends TestDatabase {
  readonly knex: Knex;
}

export interface Fixtures {
  db: (engine: Engine, prefix?: string) => Promise<FixtureDatabase>;
  tmp: string;
  stateFile: string;
  state: Store;
  sshd: (hosts: number, options?: Omit<StartSshdOptions, 'host' | 'client'>) => Promise<SshdHost[]>;
  release: (files: Record<string, string>) => string;
}

/** A plan with nothing to do (component `demo`, 1.0.0 → 1.1.0): the site assessed on its own. */
export function emptyPlan(): Plan {
  return {
    component: 'demo',
    from: '1.0.0',
    to: '1.1.0',
    tasks: [],
    stages: { preUpgrade: [], preStart: [], postStart: [] },
    mode: 'rolling',
    incompatible: [],
    excluded: [],
    orderWarnings: [],
  };
}

/** The engines among `available` that are there, for `describe.each`. */
export function engines(available: Partial<Record<Engine, boolean>>): Engine[] {
  return (['mariadb', 'postgres'] as const).filter((engine) => available[engine]);
}

/** A temporary directory's worth of files: `files` (relative path → content) written under `dir`. */
export function writeFiles(dir: string, files: Record<string, string>): string {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** A knex on a SQLite file, as the state store and the SQLite datasource open one. */
export function sqliteKnex(filename: string): Knex {
  return knexFactory({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: { min: 1, max: 1 },
  });
}

/**
 * A fresh database for the enclosing `describe`: created in `beforeAll`, its knex destroyed and the
 * database dropped in `afterAll`. Name, settings and knex are there at once (knex connects lazily).
 */
export function suiteDatabase(engine: Engine, prefix = 'uk_fx'): FixtureDatabase {
  const { create, ...db } = plannedDatabase(engine, prefix);
  const knex = knexFactory(db.config);
  let created = false;
  beforeAll(async () => {
    await create();
    created = true;
  });
  afterAll(async () => {
    await knex.destroy();
    if (created) await db.drop();
  });
  return { ...db, knex };
}

/**
 * A fresh MariaDB database for the enclosing `describe` (as {@link suiteDatabase}) and a user `user`
 * with `password` and every right on it only — what a site's application account looks like. The
 * user is created in `beforeAll` and dropped in `afterAll`, before the database.
 */
export function suiteMariaDbAccount(prefix: string, user: string, password: string): FixtureDatabase {
  const db = suiteDatabase('mariadb', prefix);
  let account: { drop(): Promise<void> } | undefined;
  beforeAll(async () => {
    account = await createMariaDbUser(db, user, password);
  });
  // Drops the user, then the database (suiteDatabase's own drop after it finds nothing left).
  afterAll(() => account?.drop());
  return db;
}

/** What {@link sshHostForFile} holds once `beforeAll` has run. */
export interface FileSshHost {
  readonly sshd: SshdHost;
  readonly ssh: SshSession;
  /** A scratch directory, removed in `afterAll`. */
  readonly dir: string;
}

/** One throwaway sshd on `host`, an `SshSession` on it and a scratch directory, for a whole file. */
export function sshHostForFile(prefix: string, host = '127.0.0.2'): FileSshHost {
  const held: { sshd?: SshdHost; ssh?: SshSession; dir?: string } = {};
  beforeAll(async () => {
    held.sshd = await startSshd({ host });
    held.ssh = await SshSession.connect(sessionOptions(held.sshd));
    held.dir = mkdtempSync(join(tmpdir(), `uk-${prefix}-`));
  });
  afterAll(async () => {
    await held.ssh?.close();
    await held.sshd?.stop();
    if (held.dir) rmSync(held.dir, { recursive: true, force: true });
  });
  return held as FileSshHost;
}

export const test = base.extend<Fixtures>({
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads the fixtures a fixture uses from this pattern
  db: async ({}, use) => {
    const made: FixtureDatabase[] = [];
    await use(async (engine, prefix = 'uk_fx') => {
      const { create, ...db } = plannedDatabase(engine, prefix);
      await create();
      const entry: FixtureDatabase = { ...db, knex: knexFactory(db.config) };
      made.push(entry);
      return entry;
    });
    for (const db of made.reverse()) {
      await db.knex.destroy();
      await db.drop();
    }
  },
  // biome-ignore lint/correctness/noEmptyPattern: as above
  tmp: async ({}, use) => {
    const dir = mkdtempSync(join(tmpdir(), 'uk-fx-'));
    await use(dir);
    rmSync(dir, { recursive: true, force: true });
  },
  stateFile: async ({ tmp }, use) => {
    await use(join(tmp, 'state.sqlite'));
  },
  state: async ({ stateFile }, use) => {
    const store = await StateStore.open({ filename: stateFile });
    await use(store);
    await store.close();
  },
  // biome-ignore lint/correctness/noEmptyPattern: as above
  sshd: async ({}, use) => {
    const started: SshdHost[] = [];
    await use(async (hosts, options = {}) => {
      const group = await startSshdHosts(hosts, options);
      started.push(...group);
      return group;
    });
    await Promise.all(started.map((h) => h.stop()));
  },
  // biome-ignore lint/correctness/noEmptyPattern: as above
  release: async ({}, use) => {
    const dirs: string[] = [];
    await use((files) => {
      const dir = mkdtempSync(join(tmpdir(), 'uk-fx-release-'));
      dirs.push(dir);
      return writeFiles(dir, files);
    });
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  },
});
