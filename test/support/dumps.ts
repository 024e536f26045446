import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Public SQL dumps no one here wrote, for oracle tests: load with the database's own client, load
 * with upgradekit, compare. Each has a README in test/fixtures/dumps/<name>/ naming its origin,
 * commit, licence and the sha256 of every file.
 *
 * The dump files themselves are not in the repository: this workplace lets developers commit no
 * file fetched from a public repository (data files belong in the steering repository's shared/).
 * They are looked for, per fixture, in `$UPGRADEKIT_DUMPS/<name>/`, then `../shared/fixtures/dumps/<name>/`
 * beside the checkout (where CI finds shared/), then `test/fixtures/dumps/<name>/` (a local copy,
 * ignored by git). See test/fixtures/dumps/README.md.
 */
export interface DumpFixture {
  readonly name: string;
  readonly engine: 'mariadb' | 'postgres';
  /** Absolute paths, in load order, where they were found (see {@link DumpFixture.available}). */
  readonly files: readonly string[];
  /** Every file was found in one of the places above. */
  readonly available: boolean;
  /** The fixture's directory, with README.md (origin, licence, sha256 of each file). */
  readonly dir: string;
  /**
   * The database the dump creates and switches to itself (`CREATE SCHEMA sakila; USE sakila;`).
   * `fixtureFiles` points those statements, and `sakila.` qualifiers, at the test's database.
   */
  readonly ownDatabase?: string;
  /** What a fresh database needs first, for the record: the test bed already has it. */
  readonly prerequisites?: string;
  /**
   * Where the files come from: a Debian package that `scripts/dumps-from-debian.sh` (run by
   * `npm run services:up`) unpacks here, so CI always has them; or a public repository, whose
   * files someone must place (see test/fixtures/dumps/README.md).
   */
  readonly source: 'debian' | 'repository';
  /**
   * Why the client cannot keep comments on this dump (`mariadb --comments` sends a comment block and
   * the `DELIMITER` line after it to the server as one statement): the oracle loads it with the
   * client's default, which strips comments, and bodies are compared without comments
   * ({@link withoutBodyComments}).
   */
  readonly clientStripsComments?: string;
  /** Too big for a failure trial in `npm test`: its trials run in the soak only. */
  readonly heavy?: boolean;
}

const root = fileURLToPath(new URL('../fixtures/dumps/', import.meta.url));
const checkout = fileURLToPath(new URL('../../', import.meta.url));
const dataRoots = [
  process.env.UPGRADEKIT_DUMPS,
  join(checkout, '..', 'shared', 'fixtures', 'dumps'),
  root,
].filter((r): r is string => Boolean(r));
const at = (dir: string, ...files: string[]) => {
  const found = dataRoots.find((r) => files.every((f) => existsSync(join(r, dir, f))));
  return {
    dir: join(root, dir),
    files: files.map((f) => join(found ?? root, dir, f)),
    available: found !== undefined,
  };
};

const warned = new Set<string>();

/**
 * Whether a fixture's dump files are here. A missing one is skipped with one loud notice naming
 * where it was looked for — also under CI, because the project cannot commit them itself.
 */
export function requireDump(fixture: DumpFixture): boolean {
  if (fixture.available) return true;
  // services:up unpacks these wherever Debian's archive is reachable, CI included: missing there is a broken setup, not a skip.
  if (fixture.source === 'debian' && process.env.CI)
    throw new Error(
      `dump "${fixture.name}" is missing from ${fixture.dir}: run bash scripts/dumps-from-debian.sh (npm run services:up does)`,
    );
  if (!warned.has(fixture.name)) {
    warned.add(fixture.name);
    process.stderr.write(
      `\n!!! SKIPPING oracle tests on dump "${fixture.name}": its files are in none of ${dataRoots.map((r) => join(r, fixture.name)).join(', ')} (see test/fixtures/dumps/README.md)\n\n`,
    );
  }
  return false;
}

type Engine = DumpFixture['engine'];
type More = Pick<DumpFixture, 'source'> &
  Partial<Omit<DumpFixture, 'name' | 'engine' | 'files' | 'dir' | 'available'>>;

/** A fixture whose `files` are in the directory of its name. */
const dump = (name: string, engine: Engine, files: string[], more: More): DumpFixture => ({
  name,
  engine,
  ...at(name, ...files),
  ...more,
});

/** Zabbix's schema (with its images) from Debian's package in `dir`, and the same with its data (heavy). */
function zabbix(dir: string, engine: Engine): DumpFixture[] {
  const schema = ['schema.sql', 'images.sql'];
  return [
    dump(dir, engine, schema, { source: 'debian' }),
    { ...dump(dir, engine, [...schema, 'data.sql'], { source: 'debian', heavy: true }), name: `${dir}-data` },
  ];
}

export const dumpFixtures: readonly DumpFixture[] = [
  dump('sakila', 'mariadb', ['sakila-mv-schema.sql', 'sakila-mv-data.sql'], {
    ownDatabase: 'sakila',
    source: 'repository',
  }),
  dump('dolibarr-3.3.0', 'mariadb', ['mysqldump_dolibarr_3.3.0.sql'], { source: 'repository' }),
  dump('pagila', 'postgres', ['pagila-schema.sql', 'pagila-data.sql'], {
    prerequisites: 'role postgres (objects are ALTER … OWNER TO postgres)',
    source: 'repository',
  }),
  dump('sourcify', 'postgres', ['sourcify-database.sql'], {
    prerequisites: 'extensions pg_trgm and pgcrypto available (postgresql-contrib)',
    source: 'repository',
  }),
  dump('cacti', 'mariadb', ['cacti.sql'], {
    source: 'debian',
    clientStripsComments:
      '`mariadb --comments` fails on its first `DELIMITER //`, which follows a comment block',
  }),
  ...zabbix('zabbix-mysql', 'mariadb'),
  ...zabbix('zabbix-pgsql', 'postgres'),
];

export function dumpFixture(name: string): DumpFixture {
  const fixture = dumpFixtures.find((f) => f.name === name);
  if (!fixture)
    throw new Error(`no dump fixture "${name}" (have: ${dumpFixtures.map((f) => f.name).join(', ')})`);
  return fixture;
}

/**
 * The fixture's files, ready to load into `database`: unchanged, unless the dump names its own
 * database. Then copies in `workDir` have `DROP SCHEMA IF EXISTS <own>;`, `CREATE SCHEMA <own>;`,
 * `USE <own>;` and `<own>.` qualifiers renamed to `database`; every other byte is kept.
 */
export async function fixtureFiles(
  fixture: DumpFixture,
  database: string,
  workDir: string,
): Promise<string[]> {
  const own = fixture.ownDatabase;
  if (!own) return [...fixture.files];
  const statement = new RegExp(`^(DROP SCHEMA IF EXISTS|CREATE SCHEMA|USE) ${own};(\\r?)$`, 'gm');
  const qualifier = new RegExp(`\\b${own}\\.`, 'g');
  const out: string[] = [];
  for (const file of fixture.files) {
    // latin1 maps each byte to one character, so the bytes around the renames survive unchanged.
    const text = await readFile(file, 'latin1');
    const target = join(workDir, basename(file));
    await writeFile(
      target,
      text.replace(statement, `$1 ${database};$2`).replace(qualifier, `${database}.`),
      'latin1',
    );
    out.push(target);
  }
  return out;
}
