import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';

/**
 * ClickHouse through its HTTP interface, which every release has. The installed server (18.16)
 * has no `BACKUP` statement (22.x+), and `ALTER TABLE … FREEZE` only hard-links parts on the
 * server's own disk; so each table is saved as its `SHOW CREATE TABLE` plus its rows in the
 * `Native` format, packed into one tar.gz, and restored with `CREATE TABLE` and `INSERT … FORMAT
 * Native`. Credentials travel in the `X-ClickHouse-User`/`-Key` headers, never in a URL.
 */
export interface ClickHouseTarget {
  readonly database: string;
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly password?: string;
}

interface TableEntry {
  readonly name: string;
  readonly engine: string;
  readonly data: boolean;
}

const INDEX = 'tables.json';

/** Engines whose rows live in the table itself (others are views, proxies or integrations). */
function holdsData(engine: string): boolean {
  return /MergeTree$|^(Log|TinyLog|StripeLog|Memory|Set|Join)$/.test(engine);
}

export const chIdent = (name: string) => `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
const chLiteral = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function endpoint(target: ClickHouseTarget): string {
  return `http://${target.host ?? '127.0.0.1'}:${target.port ?? 8123}/`;
}

async function request(
  target: ClickHouseTarget,
  sql: string,
  options: { body?: Readable; signal?: AbortSignal } = {},
): Promise<Response> {
  const headers: Record<string, string> = { 'X-ClickHouse-User': target.user ?? 'default' };
  if (target.password) headers['X-ClickHouse-Key'] = target.password;
  const url = options.body ? `${endpoint(target)}?query=${encodeURIComponent(sql)}` : endpoint(target);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers,
      body: options.body ? (Readable.toWeb(options.body) as ReadableStream) : sql,
      ...(options.body ? { duplex: 'half' } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    } as RequestInit);
  } catch (error) {
    throw new UpgradeKitError(
      ErrorCodes.STEP_FAILED,
      `ClickHouse at ${endpoint(target)} cannot be reached: ${(error as Error).message}`,
      { cause: error, context: { database: target.database } },
    );
  }
  if (!response.ok) {
    const text = (await response.text()).slice(0, 800);
    throw new UpgradeKitError(
      ErrorCodes.STEP_FAILED,
      `ClickHouse (${sql.slice(0, 60)}…) on ${endpoint(target)} failed with HTTP ${response.status}: ${text.trim()}`,
      { context: { database: target.database, status: response.status } },
    );
  }
  return response;
}

async function text(target: ClickHouseTarget, sql: string): Promise<string> {
  return (await (await request(target, sql)).text()).trim();
}

async function tables(target: ClickHouseTarget, database: string): Promise<TableEntry[]> {
  const out = await text(
    target,
    `SELECT name, engine FROM system.tables WHERE database = ${chLiteral(database)} FORMAT JSONCompact`,
  );
  const rows = (JSON.parse(out) as { data: [string, string][] }).data;
  return rows.map(([name, engine]) => ({ name, engine, data: holdsData(engine) }));
}

async function exists(target: ClickHouseTarget, database: string): Promise<boolean> {
  return (
    (await text(target, `SELECT count() FROM system.databases WHERE name = ${chLiteral(database)}`)) !== '0'
  );
}

/** Tables a restore is checked against: materialized views' `.inner.` tables come with their view. */
export async function countClickHouseTables(target: ClickHouseTarget): Promise<number> {
  return (await tables(target, target.database)).filter((t) => !t.name.startsWith('.inner.')).length;
}

export async function clickHouseAnswers(target: ClickHouseTarget): Promise<void> {
  await text(target, 'SELECT 1');
}

/** Runs `work` in a private temporary directory, removed afterwards whatever happens. */
async function inWorkDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'upgradekit-ch-'));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes the database to `file` (tar.gz, 0600): per table its CREATE statement and Native rows. */
export async function dumpClickHouse(
  target: ClickHouseTarget,
  file: string,
  signal?: AbortSignal,
): Promise<number> {
  return inWorkDir(async (work) => {
    const list = (await tables(target, target.database)).filter((t) => !t.name.startsWith('.inner.'));
    for (const [index, table] of list.entries()) {
      signal?.throwIfAborted();
      const qualified = `${chIdent(target.database)}.${chIdent(table.name)}`;
      const create = await text(target, `SHOW CREATE TABLE ${qualified} FORMAT TabSeparatedRaw`);
      await writeFile(join(work, `${index}.sql`), create, { mode: 0o600 });
      if (!table.data) continue;
      const response = await request(
        target,
        `SELECT * FROM ${qualified} FORMAT Native`,
        signal ? { signal } : {},
      );
      await pipeline(
        Readable.fromWeb(response.body as never),
        createWriteStream(join(work, `${index}.native`), { mode: 0o600 }),
      );
    }
    await writeFile(join(work, INDEX), JSON.stringify(list), { mode: 0o600 });
    const members = [INDEX, ...list.flatMap((t, i) => (t.data ? [`${i}.sql`, `${i}.native`] : [`${i}.sql`]))];
    await pipeline(
      tar.c({ gzip: true, cwd: work, portable: true }, members),
      createWriteStream(file, { mode: 0o600, flags: 'wx' }),
    );
    return list.length;
  });
}

/**
 * Renames every table into `aside` (RENAME TABLE moves, it does not copy). Repeatable. Resolves
 * false when there was no database to keep.
 */
export async function moveClickHouseAside(target: ClickHouseTarget, aside: string): Promise<boolean> {
  if (!(await exists(target, target.database))) return exists(target, aside);
  await text(target, `CREATE DATABASE IF NOT EXISTS ${chIdent(aside)}`);
  for (const table of await tables(target, target.database)) {
    await text(
      target,
      `RENAME TABLE ${chIdent(target.database)}.${chIdent(table.name)} TO ${chIdent(aside)}.${chIdent(table.name)}`,
    );
  }
  return true;
}

/** Recreates the database from a `dumpClickHouse` archive: tables first, then views, then rows. */
export async function loadClickHouse(
  target: ClickHouseTarget,
  file: string,
  signal?: AbortSignal,
): Promise<void> {
  await inWorkDir(async (work) => {
    await mkdir(work, { recursive: true });
    await tar.x({ file, cwd: work, strict: true });
    const list = JSON.parse(await readFile(join(work, INDEX), 'utf8')) as TableEntry[];
    await text(target, `DROP DATABASE IF EXISTS ${chIdent(target.database)}`);
    await text(target, `CREATE DATABASE ${chIdent(target.database)}`);
    const order = list
      .map((t, i) => ({ ...t, i }))
      .sort((a, b) => Number(/View$/.test(a.engine)) - Number(/View$/.test(b.engine)));
    for (const table of order) {
      signal?.throwIfAborted();
      await text(target, await readFile(join(work, `${table.i}.sql`), 'utf8'));
      if (!table.data) continue;
      await request(target, `INSERT INTO ${chIdent(target.database)}.${chIdent(table.name)} FORMAT Native`, {
        body: createReadStream(join(work, `${table.i}.native`)),
        ...(signal ? { signal } : {}),
      }).then((r) => r.text());
    }
  });
}

export async function dropClickHouseAside(target: ClickHouseTarget, aside: string): Promise<boolean> {
  if (!(await exists(target, aside))) return false;
  await text(target, `DROP DATABASE ${chIdent(aside)}`);
  return true;
}

export async function clickHouseAsideExists(target: ClickHouseTarget, aside: string): Promise<boolean> {
  return exists(target, aside);
}
