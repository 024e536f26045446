import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { Task } from '../release/index.js';
import { type Connection, poolRows } from './session.js';
import type { Statement } from './split.js';

/**
 * `USE` in a ClickHouse file switches the database for the statements after it, as in one
 * clickhouse-client session — but only where the client sends no database of its own:
 * `@clickhouse/client` sends its configured database with every request (unless it is `default`),
 * and the server takes that over the session's `USE`. Rather than run the file against the wrong
 * database, refuse it before its first statement, naming the line and the two ways out.
 */
export async function refuseIneffectiveUse(
  connection: Connection,
  task: Task,
  file: string,
  uses: readonly Statement[],
): Promise<void> {
  const [row] = await poolRows(connection, 'SELECT currentDatabase() AS db');
  const configured = String(row?.db ?? 'default');
  if (configured === 'default') return;
  for (const use of uses) {
    const target = /^\s*USE\s+(`(?:[^`]|``)*`|"(?:[^"]|"")*"|\S+?)\s*;?\s*$/i.exec(use.sql)?.[1] ?? '';
    const name = /^[`"]/.test(target) ? target.slice(1, -1) : target;
    if (name === configured) continue;
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `task ${task.id}: ${file}:${use.line}: USE ${name} would not take effect: the ClickHouse client of this datasource sends database "${configured}" with every request, which the server takes over the session's USE. Qualify the tables (${name}.table) instead of USE, or give the datasource the database "default"`,
      { context: { task: task.id, version: task.version, file, line: use.line } },
    );
  }
}
