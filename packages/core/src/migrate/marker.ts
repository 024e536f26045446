import type { Knex } from 'knex';
import { ensureRunnerTable } from './runner-table.js';

/**
 * A table in the target database recording each transactional task applied there, written in the
 * task's own transaction — the way Flyway and Liquibase keep their history — so a resume knows
 * exactly whether a task that was running when the process died committed.
 */
export const MARKER_TABLE = 'upgradekit_applied';

export interface MarkerKey {
  readonly component: string;
  readonly task_version: string;
  readonly task_id: string;
}

/** Creates the marker table once per connection and schema (see {@link ensureRunnerTable}). */
export function ensureMarkerTable(knex: Knex, schema: string | undefined): Promise<void> {
  return ensureRunnerTable(knex, schema, MARKER_TABLE, (t) => {
    t.string('component', 128).notNullable();
    t.string('task_version', 64).notNullable();
    t.string('task_id', 191).notNullable();
    t.string('checksum', 128).notNullable();
    t.bigInteger('applied_at').notNullable();
    t.primary(['component', 'task_version', 'task_id']);
  });
}

/** Writes the marker inside the task's transaction: it commits with the work or not at all. */
export async function insertMarker(
  trx: Knex.Transaction,
  schema: string | undefined,
  row: MarkerKey & { checksum: string },
): Promise<void> {
  const values = { ...row, applied_at: Date.now() };
  await (schema ? trx.withSchema(schema) : trx).insert(values).into(MARKER_TABLE);
}

/**
 * Whether the task's marker is there — without creating the table, so a dry run writes nothing.
 * Reads the pool's session, whose database/schema is the one a task's session starts in.
 */
export async function markerPresent(knex: Knex, key: MarkerKey): Promise<boolean> {
  // A catalog lookup costs more than a small task (information_schema on MariaDB): once the table
  // is known to be there, it stays known.
  if (!tableSeen.has(knex)) {
    if (!(await knex.schema.hasTable(MARKER_TABLE))) return false;
    tableSeen.add(knex);
  }
  return (await knex(MARKER_TABLE).where(key).first()) !== undefined;
}

const tableSeen = new WeakSet<Knex>();
