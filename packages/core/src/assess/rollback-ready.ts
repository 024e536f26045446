import { asideName, pgIdent } from '../backup/internal.js';
import type { Connection } from '../migrate/index.js';
import { type Dialect, queryRows } from './sql.js';

// A rollback first sets the current data aside, then restores the backup in its place: MariaDB and
// MySQL move the tables into a new database `<db>_uk001` (CREATE DATABASE, RENAME TABLE), and
// PostgreSQL renames the database (ALTER DATABASE … RENAME). An account that may change only its
// own database can run every upgrade and still fail there — after the services were stopped. The
// grants are read, never tried: an assessment changes nothing.

export interface AsideRefusal {
  readonly detail: string;
  readonly suggestion: string;
}

/** Why a rollback could not set this database aside with this account, or undefined when it can. */
export async function asideRefusal(
  connection: Connection,
  dialect: Exclude<Dialect, 'sqlite' | 'clickhouse'>,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<AsideRefusal | undefined> {
  return dialect === 'mysql' ? mysqlRefusal(connection, options) : postgresRefusal(connection, options);
}

async function mysqlRefusal(
  connection: Connection,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<AsideRefusal | undefined> {
  const [row] = await queryRows(connection, 'SELECT DATABASE() AS db, CURRENT_USER() AS account', options);
  const database = String(row?.db ?? '');
  if (!database) return undefined;
  const aside = asideName({ database }, 'rollback_001');
  const grants = (await queryRows(connection, 'SHOW GRANTS', options)).map((r) =>
    String(Object.values(r)[0]),
  );
  if (grants.some((grant) => allows(grant, aside))) return undefined;
  // Every later rollback's name too (`_uk002`, `_uk001_2`): the name up to its number, then `%`.
  const pattern = `${aside.replace(/\d+$/, '').replace(/[_%\\]/g, (c) => `\\${c}`)}%`;
  const [user, host] = String(row?.account ?? '').split('@');
  return {
    detail: `${user}@${host} cannot create ${aside}, the database a rollback moves the current tables into before it restores the backup`,
    suggestion: `Grant it before the upgrade: GRANT ALL ON \`${pattern}\`.* TO '${user}'@'${host ?? '%'}';`,
  };
}

/** A `GRANT … ON <target> TO …` line that lets the account create and fill `database`. */
function allows(grant: string, database: string): boolean {
  const m = /^GRANT (.+?) ON (\*|`(?:[^`]|``)+`)\.\* TO /.exec(grant);
  if (!m) return false;
  const privileges = (m[1] as string).split(/,\s*/).map((p) => p.trim().toUpperCase());
  const all = privileges.includes('ALL PRIVILEGES') || privileges.includes('ALL');
  if (!all && !(privileges.includes('CREATE') && privileges.includes('INSERT'))) return false;
  const target = m[2] as string;
  return target === '*' || like(target.slice(1, -1).replace(/``/g, '`'), database);
}

/** MySQL's database-name patterns in grants: `%` any run, `_` one character, `\` escapes. */
function like(pattern: string, name: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) re += regexLiteral(pattern[++i] as string);
    else if (c === '%') re += '.*';
    else if (c === '_') re += '.';
    else re += regexLiteral(c);
  }
  return new RegExp(`^${re}$`, 'i').test(name);
}

const regexLiteral = (c: string) => c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

async function postgresRefusal(
  connection: Connection,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<AsideRefusal | undefined> {
  const [row] = await queryRows(
    connection,
    `SELECT current_database() AS db, current_user AS account, r.rolsuper AS super, r.rolcreatedb AS createdb,
            pg_has_role(current_user, d.datdba, 'MEMBER') AS owner
       FROM pg_roles r, pg_database d
      WHERE r.rolname = current_user AND d.datname = current_database()`,
    options,
  );
  if (!row || row.super === true) return undefined;
  const owner = row.owner === true;
  const createdb = row.createdb === true;
  if (owner && createdb) return undefined;
  const db = pgIdent(String(row.db));
  const role = pgIdent(String(row.account));
  const lacks = [owner ? undefined : 'does not own the database', createdb ? undefined : 'lacks CREATEDB'];
  const fixes = [
    owner ? undefined : `ALTER DATABASE ${db} OWNER TO ${role};`,
    createdb ? undefined : `ALTER ROLE ${role} CREATEDB;`,
  ];
  return {
    detail: `${row.account} ${lacks.filter(Boolean).join(' and ')}: a rollback renames the database to set the current data aside before it restores the backup`,
    suggestion: `Before the upgrade, as a superuser: ${fixes.filter(Boolean).join(' ')}`,
  };
}
