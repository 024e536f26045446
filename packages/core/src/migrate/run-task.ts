import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { Knex } from 'knex';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { Plan } from '../plan/index.js';
import type { Release, Task } from '../release/types.js';
import { TASK_STAGES } from '../stages/names.js';
import type { StepContext, StepDefinition } from '../stages/types.js';
import type { Upgrade } from '../stages/upgrade.js';
import { type EstimateTracking, trackEstimate } from './estimate.js';
import { commandStep, toolStep } from './run-program.js';
import {
  applyPlaceholders,
  commitsImplicitly,
  type SqlDialect,
  type Statement,
  splitStatements,
} from './split.js';

/** The part of `@clickhouse/client` we use; any object with `command` and `query` will do. */
export interface ClickHouseLike {
  command(params: { query: string; abort_signal?: AbortSignal }): Promise<unknown>;
  query(params: {
    query: string;
    format?: string;
    abort_signal?: AbortSignal;
  }): Promise<{ json(): Promise<unknown> }>;
}

export type Connection = Knex | ClickHouseLike;

export interface TaskRunOptions {
  readonly release: Release;
  /** One open connection per datasource name of the release: a knex instance or a ClickHouse client. */
  readonly connections: Readonly<Record<string, Connection>>;
  /** Values for `${name}` in SQL files. Configuration only: never the environment. */
  readonly placeholders?: Readonly<Record<string, string>>;
  /**
   * How often the actual rate of a task with an `estimate` is measured while it runs, to correct
   * its remaining time (seed 001 §5.2.4: every 30 s). Default 30 000.
   */
  readonly estimateIntervalMs?: number;
}

/** How a task's statements are made safe to resume. */
export type SqlMode =
  /** All statements in one transaction; with the state in the same database, the success row too. */
  | 'transaction'
  /** Statements auto-commit (MySQL DDL, ClickHouse): progress is recorded per statement. */
  | 'per-statement';

interface StatementProgress {
  /** The next statement to run. */
  next: number;
  /** Set while a statement runs: if a crash leaves it set, that statement is in doubt. */
  started?: number;
}

function isKnex(connection: Connection): connection is Knex {
  return typeof connection === 'function' && 'client' in connection;
}

function dialectOf(connection: Connection): SqlDialect {
  if (!isKnex(connection)) return 'clickhouse';
  const client = String(connection.client.config.client ?? '');
  if (/sqlite/.test(client)) return 'sqlite';
  if (/pg|postgres/.test(client)) return 'postgres';
  return 'mysql';
}

function bad(task: Task, message: string): UpgradeKitError {
  return new UpgradeKitError(
    ErrorCodes.BAD_INPUT,
    `task ${task.id} (${task.source.file}:${task.source.line}): ${message}`,
    {
      context: { task: task.id, version: task.version, ...task.source },
    },
  );
}

/** The mode a task's statements run in on a given connection. */
export function sqlMode(dialect: SqlDialect, statements: readonly Statement[]): SqlMode {
  if (dialect === 'clickhouse') return 'per-statement';
  if (dialect === 'mysql' && statements.some((s) => commitsImplicitly(s.sql))) return 'per-statement';
  return 'transaction';
}

function statementError(
  task: Task,
  file: string,
  statement: Statement,
  total: number,
  error: unknown,
): Error {
  const message = error instanceof Error ? error.message : String(error);
  const wrapped = new Error(
    `${file}:${statement.line} statement ${statement.index + 1} of ${total} failed: ${message}`,
    {
      cause: error,
    },
  );
  const code = (error as { code?: unknown })?.code;
  if (code !== undefined) Object.assign(wrapped, { code });
  return Object.assign(wrapped, { task: task.id });
}

/**
 * Turns a release task into an engine step: reads and splits its file, fills placeholders and
 * picks the transaction mode now, so that a missing connection, file or placeholder fails before
 * anything runs.
 *
 * - `transaction`: every statement in one transaction. When the connection is the state
 *   database itself, the success row commits in the same transaction: exactly once.
 * - `per-statement`: auto-committing statements (MySQL/MariaDB DDL, ClickHouse). Progress is saved
 *   before and after each statement; a failure or crash at statement k resumes at k. A crash
 *   *during* statement k leaves k in doubt: an `idempotent` task re-runs it, others stop with
 *   `UPGRADEKIT_IN_DOUBT` naming the statement until an operator resolves it.
 */
export function taskStep(task: Task, options: TaskRunOptions): StepDefinition {
  if (task.kind !== 'sql' && task.kind !== 'clickhouse') {
    throw bad(task, `${task.kind} tasks are not run by the SQL runner`);
  }
  if (!task.file) throw bad(task, 'has no statements file');
  const name = task.datasource ?? '';
  const connection = options.connections[name];
  if (!connection) {
    throw bad(
      task,
      `no connection for datasource "${name}"; pass it in \`connections\` (have: ${Object.keys(options.connections).join(', ') || 'none'})`,
    );
  }
  const dialect = dialectOf(connection);
  if ((dialect === 'clickhouse') !== (task.kind === 'clickhouse')) {
    throw bad(task, `a ${task.kind} task cannot run on the ${dialect} connection of datasource "${name}"`);
  }
  const file = relative(options.release.dir, task.file);
  const statements = applyPlaceholders(
    splitStatements(readFileSync(task.file, 'utf8'), dialect),
    options.placeholders ?? {},
    file,
  );
  const mode = sqlMode(dialect, statements);

  const exec = async (sql: string, signal: AbortSignal, trx?: Knex.Transaction) => {
    if (!isKnex(connection)) return connection.command({ query: sql, abort_signal: signal });
    return (trx ?? connection).raw(sql);
  };

  /** The single number a check or an estimate query returns. */
  const queryNumber = async (sql: string, signal?: AbortSignal): Promise<number> => {
    const value = isKnex(connection)
      ? firstValue(await connection.raw(sql))
      : firstValue(
          await (
            await connection.query({
              query: sql,
              format: 'JSONCompact',
              ...(signal ? { abort_signal: signal } : {}),
            })
          ).json(),
        );
    return Number(value);
  };
  const track = (ctx: StepContext, startAt: number): Promise<EstimateTracking | undefined> =>
    trackEstimate(task, ctx, {
      statements: statements.length,
      startAt,
      intervalMs: options.estimateIntervalMs ?? 30_000,
      queryVolume: (sql) => queryNumber(sql, ctx.signal),
    });

  const marker = { component: options.release.component, task_version: task.version, task_id: task.id };
  const runTransaction = async (ctx: StepContext) => {
    const knex = connection as Knex;
    const sameDatabase = knex === ctx.stateKnex;
    await ensureMarkerTable(knex);
    const tracking = await track(ctx, 0);
    try {
      await knex.transaction(async (trx) => {
        for (const statement of statements) {
          ctx.signal.throwIfAborted();
          let result: unknown;
          try {
            result = await exec(statement.sql, ctx.signal, trx);
          } catch (error) {
            throw statementError(task, file, statement, statements.length, error);
          }
          tracking?.statementDone(statement.index, result);
        }
        // The marker commits with the work: after a crash it tells "applied" from "rolled back".
        await trx(MARKER_TABLE).insert({ ...marker, checksum: task.checksum, applied_at: Date.now() });
        if (sameDatabase) await ctx.succeedWithin(trx);
      });
    } finally {
      tracking?.end();
    }
  };
  const markerPresent = async () => {
    const knex = connection as Knex;
    await ensureMarkerTable(knex);
    return (await knex(MARKER_TABLE).where(marker).first()) !== undefined;
  };

  const runPerStatement = async (ctx: StepContext) => {
    const progress: StatementProgress = ctx.progress
      ? (JSON.parse(ctx.progress) as StatementProgress)
      : { next: 0 };
    if (progress.started !== undefined && !task.idempotent) {
      const statement = statements[progress.started];
      throw new UpgradeKitError(
        ErrorCodes.IN_DOUBT,
        `Task ${task.id}: statement ${progress.started + 1} of ${statements.length} (${file}:${statement?.line ?? '?'}) was running when the upgrade was interrupted, and ${dialect === 'clickhouse' ? 'ClickHouse' : 'MySQL/MariaDB'} commits it on its own, so it may or may not have taken effect. Check it, then resolve: "applied" continues with statement ${progress.started + 2}, "retry" runs statement ${progress.started + 1} again (upgradekit resolve ${task.id} --applied|--retry).`,
        { context: { task: task.id, statement: progress.started + 1, file, line: statement?.line } },
      );
    }
    const startAt = progress.started ?? progress.next;
    const tracking = await track(ctx, startAt);
    try {
      await runStatements(ctx, startAt, tracking);
    } finally {
      tracking?.end();
    }
  };
  const runStatements = async (ctx: StepContext, startAt: number, tracking: EstimateTracking | undefined) => {
    for (let k = startAt; k < statements.length; k++) {
      ctx.signal.throwIfAborted();
      const statement = statements[k]!;
      await ctx.saveProgress(JSON.stringify({ next: k, started: k } satisfies StatementProgress));
      let result: unknown;
      try {
        result = await exec(statement.sql, ctx.signal);
      } catch (error) {
        // It failed, so it is not in doubt: the next attempt starts at this statement.
        await ctx.saveProgress(JSON.stringify({ next: k } satisfies StatementProgress));
        throw statementError(task, file, statement, statements.length, error);
      }
      tracking?.statementDone(k, result);
      await ctx.saveProgress(JSON.stringify({ next: k + 1 } satisfies StatementProgress));
      if (statements.length > 1) {
        ctx.events.emit({
          type: 'progress',
          stage: ctx.stage,
          step: ctx.step,
          label: file,
          unit: 'items',
          done: k + 1,
          total: statements.length,
          percent: ((k + 1) / statements.length) * 100,
        });
      }
    }
  };

  const check = task.check;
  return {
    id: task.id,
    name: task.description ?? file,
    version: task.version,
    checksum: task.checksum,
    summary: `${task.kind} on ${name}: ${statements.length} statement${statements.length === 1 ? '' : 's'} from ${file}, ${mode === 'transaction' ? 'in one transaction' : 'committed one by one'}`,
    kind: 'database',
    changesData: true,
    ...(task.timeoutMs ? { timeoutMs: task.timeoutMs } : {}),
    ...(task.retry?.attempts
      ? {
          retry: {
            attempts: task.retry.attempts,
            ...(task.retry.minDelayMs !== undefined ? { minDelayMs: task.retry.minDelayMs } : {}),
          },
        }
      : {}),
    ...(task.retry?.scope ? { scope: task.retry.scope as StepDefinition['scope'] & string } : {}),
    ...(task.criticality ? { criticality: task.criticality } : {}),
    // Both modes resume safely by themselves; doubt about one statement is handled inside.
    idempotent: true,
    ...(check || mode === 'transaction'
      ? {
          skipIf: async () => {
            if (mode === 'transaction' && (await markerPresent())) return true;
            if (!check) return false;
            return (await queryNumber(check)) > 0;
          },
        }
      : {}),
    run: (ctx: StepContext) => (mode === 'transaction' ? runTransaction(ctx) : runPerStatement(ctx)),
  };
}

/**
 * A table in the target database recording each transactional task applied there, written in the
 * task's own transaction — the way Flyway and Liquibase keep their history — so a resume knows
 * exactly whether a task that was running when the process died committed.
 */
export const MARKER_TABLE = 'upgradekit_applied';

const markerTables = new WeakMap<Knex, Promise<void>>();

/** Creates the marker table once per connection (a schema lookup per task costs more than the task). */
function ensureMarkerTable(knex: Knex): Promise<void> {
  let ready = markerTables.get(knex);
  if (!ready) {
    ready = createMarkerTable(knex);
    markerTables.set(knex, ready);
    ready.catch(() => markerTables.delete(knex));
  }
  return ready;
}

async function createMarkerTable(knex: Knex): Promise<void> {
  if (await knex.schema.hasTable(MARKER_TABLE)) return;
  await knex.schema
    .createTable(MARKER_TABLE, (t) => {
      t.string('component', 128).notNullable();
      t.string('task_version', 64).notNullable();
      t.string('task_id', 191).notNullable();
      t.string('checksum', 128).notNullable();
      t.bigInteger('applied_at').notNullable();
      t.primary(['component', 'task_version', 'task_id']);
    })
    .catch(async (error: unknown) => {
      // Another runner created it first.
      if (!(await knex.schema.hasTable(MARKER_TABLE))) throw error;
    });
}

/** The first column of the first row of a raw result, whatever the driver's shape. */
function firstValue(result: unknown): unknown {
  let rows: unknown = result;
  // pg puts its rows in `rows`; ClickHouse's JSONCompact has a `rows` count beside `data`.
  if (rows && typeof rows === 'object' && Array.isArray((rows as { rows?: unknown }).rows))
    rows = (rows as { rows: unknown }).rows; // pg
  if (rows && typeof rows === 'object' && 'data' in rows) rows = (rows as { data: unknown }).data; // ClickHouse JSONCompact
  if (Array.isArray(rows) && Array.isArray(rows[0]) && rows.length === 2 && !Array.isArray(rows[0]?.[0]))
    rows = rows[0]; // mysql2 [rows, fields]
  const row = Array.isArray(rows) ? rows[0] : rows;
  if (Array.isArray(row)) return row[0];
  if (row && typeof row === 'object') return Object.values(row)[0];
  return row;
}

/**
 * Adds every SQL and ClickHouse task of a plan to an upgrade, at its cut-point, in plan order.
 *
 * @example
 * const p = plan({ release, from: '2.16.5', to: '2.16.7', site: 'site-042' });
 * addPlanSteps(upgrade, p, { release, connections: { main: knex } });
 * await upgrade.runStage('preStart');
 */
export function addPlanSteps(upgrade: Upgrade, plan: Plan, options: TaskRunOptions): void {
  // Build every step first: a bad task fails before any is added.
  const steps = plan.tasks.map((t) => {
    const step =
      t.kind === 'command'
        ? commandStep(t, options.release)
        : t.kind === 'tool'
          ? toolStep(t, options.release)
          : taskStep(t, options);
    return [t, step] as const;
  });
  for (const [task, step] of steps) upgrade.step(TASK_STAGES[task.stage], step);
}
