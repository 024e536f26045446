import { describeError } from '../errors/internal.js';
import { formatBytes } from '../events/internal.js';
import type { Connection } from '../migrate/index.js';
import { asideRefusal } from './rollback-ready.js';
import { type Dialect, dialectOf, firstNumber, isMissingDatabase, queryRows } from './sql.js';
import type { BackupEstimate } from './types.js';

// Sizes of the database the connection points at, as each server accounts for them.
const SIZE_SQL: Record<Exclude<Dialect, 'sqlite'>, string> = {
  // InnoDB refreshes these figures lazily; they are the seed's basis (data_length + index_length).
  mysql:
    'SELECT COALESCE(SUM(data_length + index_length), 0) AS bytes, COALESCE(SUM(table_rows), 0) AS row_count ' +
    'FROM information_schema.TABLES WHERE table_schema = DATABASE()',
  // Tables and materialized views with their indexes and TOAST, outside the system schemas.
  postgres:
    'SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint AS bytes, ' +
    'COALESCE(SUM(GREATEST(c.reltuples, 0)), 0)::bigint AS row_count ' +
    'FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace ' +
    "WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') " +
    "AND n.nspname NOT LIKE 'pg_toast%'",
  // Active parts only: inactive ones are merged away and are not backed up.
  clickhouse:
    'SELECT sum(bytes_on_disk) AS bytes, sum(rows) AS row_count FROM system.parts ' +
    'WHERE active AND database = currentDatabase()',
};

export interface BackupSizeOptions {
  /** The datasource's type as configured (the release's `type`): reported instead of the dialect. */
  readonly type?: string;
  readonly factor: number;
  readonly dualWrite: boolean;
  readonly dualWriteBuffer: number;
  /** Also check that the account could set the database aside for a rollback. */
  readonly rollback?: boolean;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/**
 * The backup-size estimate of one datasource (seed 001 §5.2.1): data + index size × `factor`
 * (1.5), and for a datasource written twice during the upgrade, `size × 2 + buffer` (10–20%).
 * Never throws: a failure is an estimate with status `fail` or `skip` and the reason.
 */
export async function estimateBackup(
  datasource: string,
  connection: Connection,
  options: BackupSizeOptions,
): Promise<BackupEstimate> {
  const dialect = dialectOf(connection);
  // MariaDB speaks the MySQL dialect, but the report names what the user configured.
  const type = options.type ?? dialect;
  if (dialect === 'sqlite') {
    return {
      datasource,
      type,
      status: 'skip',
      detail: 'SQLite files are copied as they are; size them with the disk check of their directory',
    };
  }
  try {
    const signal = options.signal ? { signal: options.signal } : {};
    const rows = await queryRows(connection, SIZE_SQL[dialect], { timeoutMs: options.timeoutMs, ...signal });
    const dataBytes = firstNumber(rows) ?? 0;
    const rowCount = Number(rows[0]?.row_count ?? 0);
    const backupBytes = Math.ceil(dataBytes * options.factor);
    const dualWriteBytes = options.dualWrite
      ? Math.ceil(dataBytes * 2 + dataBytes * options.dualWriteBuffer)
      : undefined;
    // A grant the rollback needs and the account lacks is found now, not after the services stopped.
    const refusal =
      dialect === 'clickhouse' || !options.rollback
        ? undefined
        : await asideRefusal(connection, dialect, { timeoutMs: options.timeoutMs, ...signal }).catch(
            () => undefined,
          );
    return {
      datasource,
      type,
      status: 'pass',
      detail: `data ${formatBytes(dataBytes)} × ${options.factor} = backup ${formatBytes(backupBytes)}${
        dualWriteBytes === undefined ? '' : `; dual write ${formatBytes(dualWriteBytes)}`
      }`,
      ...(refusal ? { rollbackBlocked: refusal } : {}),
      dataBytes,
      ...(Number.isFinite(rowCount) ? { rows: rowCount } : {}),
      backupBytes,
      ...(dualWriteBytes === undefined ? {} : { dualWriteBytes }),
    };
  } catch (error) {
    if (isMissingDatabase(error)) {
      return {
        datasource,
        type,
        status: 'skip',
        detail: `database does not exist: nothing to back up`,
      };
    }
    return {
      datasource,
      type,
      status: 'fail',
      detail: `could not size the data: ${describeError(error).message}`,
    };
  }
}
