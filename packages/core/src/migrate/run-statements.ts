import type { Knex } from 'knex';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { StepContext } from '../model/index.js';
import type { Task } from '../release/index.js';
import {
  answeredByServer,
  BETWEEN_STATEMENTS,
  NotSent,
  statementAtStake,
  statementInDoubt,
  statementsStopped,
} from './cancel.js';
import type { EstimateTracking } from './estimate.js';
import { type ServerMark, serverMark, settleInDoubt } from './in-doubt/index.js';
import type { MarkerKey } from './marker.js';
import { chainOf, firstChange, parseProgress, type StatementProgress } from './progress.js';
import { ensureProgressTable, ProgressRow } from './progress-table.js';
import { type Connection, isKnex, openSession, type TaskSession } from './session.js';
import {
  assignedSessionVariables,
  assignedUserVariables,
  type Baseline,
  baseline,
  capture,
  restore,
  type SessionState,
} from './session-state.js';
import type { SqlDialect, Statement, StatementClass } from './split.js';
import { type StatementPlan, UnitTracker } from './units.js';

export interface StatementsInput {
  readonly task: Task;
  readonly file: string;
  readonly dialect: SqlDialect;
  readonly connection: Connection;
  readonly statements: readonly Statement[];
  readonly classes: readonly StatementClass[];
  readonly key: MarkerKey;
  /** Runs one statement on the session, turning a failure into a SqlStatementError. */
  execute(ctx: StepContext, session: TaskSession, statement: Statement): Promise<unknown>;
  track(ctx: StepContext, startAt: number): Promise<EstimateTracking | undefined>;
  /** A statement an interrupted run left running on the server is cancelled instead of awaited. */
  readonly killInDoubt?: boolean;
}

const TEMPORARY =
  /^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:GLOBAL\s+|LOCAL\s+)?TEMP(?:ORARY)?\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([`"]?[\w$.]+[`"]?)/i;
const PREPARE = /^\s*PREPARE\s+`?(\w+)`?\s+FROM\b/i;
const DEALLOCATE = /^\s*(?:DEALLOCATE|DROP)\s+PREPARE\s+`?(\w+)`?/i;
const DROP_TABLE = /^\s*DROP\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+EXISTS\s+)?([\s\S]+)$/i;

/**
 * Runs a file statement by statement on its own session, as the database's client would, with the
 * transactions the file declares: work counts as done only when it is committed, and the progress
 * that says so commits in the same transaction (see {@link ProgressRow}). A failure resumes at the
 * first statement of the unit it interrupted, in a session rebuilt by value (database, variables,
 * user variables, locks); a file edited before its resume point is refused, naming the statement.
 */
export async function runStatements(ctx: StepContext, input: StatementsInput): Promise<void> {
  const { task, file, dialect, statements, classes } = input;
  // SQLite holding the state in the same file has one writer: share the pool's connection.
  const shared = input.dialect === 'sqlite' && input.connection === ctx.stateKnex;
  const session = await openSession(input.connection, { shared });
  const knexTarget = isKnex(input.connection) ? input.connection : undefined;
  let side: { session: TaskSession; row: ProgressRow } | undefined;
  try {
    let row: ProgressRow | undefined;
    let stored: StatementProgress | undefined;
    if (knexTarget) {
      // A file that dropped the datasource's database leaves the pool nothing to connect to: the
      // row makes its table itself once the database is back.
      await ensureProgressTable(knexTarget as Knex, session.schema).catch(() => {});
      row = new ProgressRow(session, input.key);
      stored = parseProgress(await row.read());
    }
    const mirrored = parseProgress(ctx.progress);
    let progress = pickProgress(stored, mirrored);
    let seq = Math.max(stored?.seq ?? 0, mirrored?.seq ?? 0);
    const mirror = (p: StatementProgress) => ctx.saveProgress(JSON.stringify(p));
    if (progress.decided) {
      // An operator's decision, taken now: it becomes the target's copy, and is not taken twice.
      const { decided: _taken, ...rest } = progress;
      progress = { ...rest, seq: ++seq };
      await row?.write(progress);
      await mirror(progress);
    }
    // The target's copy is the exact one; the state store's serves `status` and settles doubt, so
    // routine progress is copied there at most once a second — a started mark, a failure and the
    // end always are.
    let mirroredAt = 0;
    const mirrorSoon = async (p: StatementProgress) => {
      if (row && performance.now() - mirroredAt < 1000) return;
      mirroredAt = performance.now();
      await mirror(p);
    };

    if (progress.next > 0 && progress.chain) {
      const changed = firstChange(progress.chain, statements, progress.next);
      if (changed) {
        await mirror(progress);
        throw edited(task, file, statements, progress.next, changed);
      }
    }
    if (progress.session?.unrestorable) {
      await mirror(progress);
      throw new UpgradeKitError(
        ErrorCodes.IN_DOUBT,
        `Task ${task.id}: cannot resume at statement ${progress.next + 1} of ${statements.length} (${file}:${statements[progress.next]?.line ?? '?'}): ${progress.session.unrestorable}, and a new session cannot have it back.\nClean up, then resolve the task to start the file again ("restart").`,
        {
          context: {
            task: task.id,
            file,
            statement: progress.next + 1,
            next: progress.next + 1,
            decisions: ['restart', 'from'],
          },
        },
      );
    }

    const base: Baseline = knexTarget || dialect === 'clickhouse' ? await baseline(session) : {};
    // Saved with every `started` mark: a resume asks this server whether the statement still runs.
    const mark = await serverMark(session).catch(() => undefined);
    const ranOn: { server?: ServerMark } = mark ? { server: mark } : {};
    let sessionNow: SessionState | undefined = progress.session;
    const userVariables = new Set(Object.keys(progress.session?.user ?? {}));
    const sessionVariables = new Set(Object.keys(progress.session?.variables ?? {}));
    let locks = progress.session?.locks;
    const temporary = new Map<string, string>();
    if (progress.session) await restore(session, progress.session, progress.autocommit ?? true);
    if (progress.started !== undefined) {
      // Settled on the restored session: unqualified names resolve where the statement ran.
      const k = progress.started;
      const statement = statements[k];
      const where = `statement ${k + 1} of ${statements.length} (${file}:${statement?.line ?? '?'})`;
      const settled = statement
        ? await settleInDoubt({
            session,
            dialect,
            statement,
            mark: progress.server,
            kill: input.killInDoubt === true,
            signal: ctx.signal,
            log: ctx.log,
            where,
          })
        : undefined;
      const { started: _started, server: _server, ...rest } = progress;
      const waited = settled?.waitedMs
        ? ` after it ended on the server (${Math.round(settled.waitedMs / 1000)} s${settled.cancelled ? ', cancelled' : ''})`
        : '';
      if (settled?.verdict === 'applied') {
        progress = { ...rest, next: k + 1 };
        ctx.log.warn(
          `${where} was in doubt${waited}: it took effect (${settled.evidence}); continuing with the next statement`,
        );
      } else if (settled && settled.verdict !== 'unknown') {
        if (settled.before) await session.execute({ sql: settled.before });
        progress = rest;
        ctx.log.warn(
          `${where} was in doubt${waited}: ${settled.verdict === 'rerun' ? settled.evidence : `it did not take effect (${settled.evidence})`}; running it again`,
        );
      } else if (task.idempotent) {
        progress = rest;
        ctx.log.warn(
          `${where} was in doubt${waited} (${settled?.evidence ?? 'no evidence'}); running it again: the task is idempotent`,
        );
      } else {
        await mirror(progress);
        throw inDoubt(task, file, statements, k, dialect, settled?.evidence);
      }
      progress = { ...progress, seq: ++seq };
      await row?.write(progress);
      await mirror(progress);
    }
    const tracker = new UnitTracker(dialect, { autocommit: progress.autocommit ?? true });
    const skip = new Set(progress.skip ?? []);
    let sessionAtUnit = sessionNow;
    let autocommitAtUnit = tracker.autocommit;

    const snapshot = (next: number, extra: Partial<StatementProgress> = {}): StatementProgress => ({
      next,
      chain: chainOf(statements, next),
      ...(sessionNow ? { session: sessionNow } : {}),
      ...(tracker.autocommit ? {} : { autocommit: false }),
      ...(skip.size ? { skip: [...skip] } : {}),
      ...extra,
      seq: ++seq,
    });
    // While the file holds LOCK TABLES, its session may touch no other table: progress goes through
    // a second session, marked `started` before each statement and settled after it — a crash inside
    // the locked section leaves that one statement in doubt, as with DDL.
    const sideRow = async () => {
      if (!side) {
        const other = await openSession(input.connection);
        side = { session: other, row: new ProgressRow(other, input.key) };
      }
      return side.row;
    };
    const locked = () => dialect === 'mysql' && locks !== undefined && row !== undefined;
    const currentRow = async () => (locked() ? await sideRow() : row);

    /** Progress written inside whatever transaction is open on the session (commits with it). */
    /** Written in the open transaction: copied to the state store only once that commits. */
    const writeInside = async (p: StatementProgress) => {
      await (await currentRow())?.write(p);
    };
    /** Progress written on its own, committed now (nothing of the file is open). */
    const writeAlone = async (p: StatementProgress) => {
      if (row) {
        const through = await currentRow();
        await through?.write(p);
        if (through === row && !tracker.autocommit) await session.query('COMMIT');
      }
      await mirror(p);
    };
    /**
     * A failure: what is open rolls back, and the resume point is the first statement of the unit
     * it interrupted — unless MySQL's implicit commit before a DDL had already committed that unit.
     *
     * A cancel is settled the same way when its outcome is known — the statement was never sent,
     * ran inside a transaction, or the server answered that it did not complete — and is then not
     * a failure. A statement that commits on its own and got no such answer keeps its `started`
     * mark: it is in doubt, and the error says so.
     */
    const fail = async (k: number, error: unknown, plan: StatementPlan, failed: number | undefined = k) => {
      const unitStart = tracker.unitStart;
      const cancelled = ctx.signal.aborted;
      const sent = !(error instanceof NotSent);
      if (cancelled && sent && commitsOnItsOwn(plan) && !cancelSettles(k, error)) {
        throw statementInDoubt(place, k, dialect, whyInDoubt(k, error));
      }
      if (knexTarget) await session.query('ROLLBACK').catch(() => {});
      let resumeAt = unitStart ?? k;
      if (plan.kind === 'commits-before' && unitStart !== undefined && row) {
        const now = parseProgress(await (await currentRow())?.read().catch(() => undefined));
        if (now?.started === k) resumeAt = k;
      }
      if (resumeAt !== k || plan.kind === 'in-unit') {
        sessionNow = sessionAtUnit;
        tracker.autocommit = autocommitAtUnit;
      }
      tracker.unitStart = undefined;
      tracker.inTransaction = false;
      const mark = cancelled || failed === undefined ? {} : { failed };
      await writeAlone(snapshot(resumeAt, mark)).catch(() => {});
      if (cancelled) throw statementsStopped(place, resumeAt, k, sent);
      throw error;
    };
    /**
     * Whether the server's answer to a cancelled statement that commits on its own proves it did not
     * take effect: MariaDB/MySQL roll back an interrupted DDL statement (atomic DDL). A procedure or
     * prepared statement may have committed part of its work; PostgreSQL's statements outside a
     * transaction block (CREATE INDEX CONCURRENTLY leaves an invalid index) and ClickHouse's
     * (mutations go on) may not be undone by a cancel.
     */
    const whyInDoubt = (k: number, error: unknown): string => {
      if (!answeredByServer(error, dialect)) return 'the server gave no answer that it stopped it';
      if (dialect === 'postgres')
        return 'cancelled there, it may leave part of its work behind (CREATE INDEX CONCURRENTLY leaves an invalid index)';
      if (dialect === 'clickhouse')
        return 'ClickHouse may go on with its work (a mutation) after the query is cancelled';
      return opaqueStatement(statements[k]!, classes[k]!, dialect)
        ? 'a procedure or prepared statement may have committed part of its work before it was stopped'
        : 'the server stopped it, but not before it may have taken effect';
    };
    const cancelSettles = (k: number, error: unknown): boolean =>
      dialect === 'mysql' &&
      !opaqueStatement(statements[k]!, classes[k]!, dialect) &&
      answeredByServer(error, dialect);

    const place = { task, file, statements };
    const tracking = await input.track(ctx, progress.next);
    try {
      for (let k = progress.next; k < statements.length; k++) {
        // Cancelled between statements: what is committed stays, an open unit rolls back.
        if (ctx.signal.aborted) await fail(k, new NotSent('the run was cancelled'), { kind: 'alone' });
        const statement = statements[k]!;
        const c = classes[k]!;
        // What the classifier cannot see into — a prepared statement, a procedure, a compound block,
        // autocommit set from a variable; PostgreSQL's CALL and DO, which may COMMIT and so refuse
        // the runner's own BEGIN — runs unwrapped, marked, and the server says afterwards whether a
        // transaction is open.
        const opaque = opaqueStatement(statement, c, dialect);
        const plan: StatementPlan =
          dialect === 'clickhouse' || opaque
            ? { kind: 'commits-before', opensUnit: false }
            : tracker.plan(k, c);
        if (tracker.unitStart === undefined && plan.kind !== 'alone' && plan.kind !== 'session') {
          sessionAtUnit = sessionNow;
          autocommitAtUnit = tracker.autocommit;
        }
        if (skip.has(k)) {
          // An operator declared it applied: it is not run, but the file's transactions go on.
          tracker.ran(k, c, plan);
          continue;
        }
        let result: unknown;
        if (locked()) {
          // Under LOCK TABLES progress goes through a second session, so it cannot commit with the
          // work. A statement that commits (autocommit, DDL, COMMIT) is marked `started` first and
          // is in doubt if the process dies while it runs; one inside an open transaction is not:
          // a crash rolls its unit back, and the resume point stays the unit's first statement.
          const commits =
            plan.kind === 'alone' || plan.kind === 'commits-before' || plan.kind === 'commits-unit';
          if (commits) {
            const before = snapshot(tracker.committedUpTo(k), { started: k, ...ranOn });
            await (await sideRow()).write(before);
            await mirror(before);
          }
          ctx.inFlight?.(statementAtStake(place, k, commits, dialect));
          try {
            result = await input.execute(ctx, session, statement);
          } catch (error) {
            const cancelled = ctx.signal.aborted;
            const sent = !(error instanceof NotSent);
            if (cancelled && sent && commits && !cancelSettles(k, error)) {
              throw statementInDoubt(place, k, dialect, whyInDoubt(k, error));
            }
            const unitStart = tracker.unitStart;
            if (unitStart !== undefined || plan.kind === 'in-unit') {
              await session.query('ROLLBACK').catch(() => {});
              sessionNow = sessionAtUnit;
              tracker.autocommit = autocommitAtUnit;
            }
            const resumeAt = tracker.committedUpTo(k);
            const after = snapshot(resumeAt, cancelled ? {} : { failed: k });
            tracker.unitStart = undefined;
            tracker.inTransaction = false;
            await (await sideRow()).write(after).catch(() => {});
            await mirror(after).catch(() => {});
            if (cancelled) throw statementsStopped(place, resumeAt, k, sent);
            throw error;
          }
          tracker.ran(k, c, plan);
          follow(statement, c);
          if (needsCapture(c, statement)) sessionNow = await captureNow();
          if (tracker.unitStart === undefined) {
            const after = snapshot(k + 1);
            await (locked() ? await sideRow() : row!).write(after);
            if (!locked() && !tracker.autocommit) await session.query('COMMIT');
            await mirror(after);
          }
          tracking?.statementDone(k, result);
          ctx.inFlight?.(BETWEEN_STATEMENTS);
          continue;
        }
        ctx.inFlight?.(statementAtStake(place, k, commitsOnItsOwn(plan), dialect));
        try {
          switch (plan.kind) {
            case 'alone':
              if (knexTarget) await session.query('BEGIN');
              result = await input.execute(ctx, session, statement);
              break;
            case 'commits-unit':
              // Written in the open transaction just before the file's COMMIT: they commit together.
              await writeInside({
                ...snapshot(k + 1),
                ...(c.transactionControl === 'autocommit-on' ? { autocommit: true } : {}),
              });
              result = await input.execute(ctx, session, statement);
              break;
            case 'commits-before':
              if ('opensUnit' in plan && plan.opensUnit) {
                // MySQL's BEGIN inside a transaction commits it, progress included, and starts the
                // next unit: nothing of its own can be in doubt.
                await writeInside(snapshot(k));
              } else {
                // Marked before it runs: a crash now leaves exactly this statement in doubt.
                const mark = snapshot(k, { started: k, ...ranOn });
                if (row) await row.write(mark);
                await mirror(mark);
              }
              result = await input.execute(ctx, session, statement);
              break;
            default:
              result = await input.execute(ctx, session, statement);
          }
        } catch (error) {
          await fail(k, error, plan);
        }
        tracker.ran(k, c, plan);
        if (opaque && dialect === 'mysql') await syncTracker(k);
        follow(statement, c);
        if (needsCapture(c, statement) || opaque) sessionNow = await captureNow();
        switch (plan.kind) {
          case 'alone': {
            const after = snapshot(k + 1);
            if (row) {
              await row.write(after);
              await session.query('COMMIT');
            }
            await mirrorSoon(after);
            break;
          }
          case 'commits-before':
          case 'rolls-back-unit':
          case 'session':
            if (tracker.unitStart === undefined) await writeAlone(snapshot(k + 1));
            break;
          case 'commits-unit':
            // Committed now: the state store may hear of it.
            await mirrorSoon(snapshot(k + 1));
            break;
          default:
            break;
        }
        tracking?.statementDone(k, result);
        ctx.inFlight?.(BETWEEN_STATEMENTS);
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
      if (tracker.unitStart !== undefined) {
        const start = tracker.unitStart;
        await fail(
          start,
          new UpgradeKitError(
            ErrorCodes.STEP_FAILED,
            `Task ${task.id}: ${file} ends inside a transaction that statement ${start + 1} (${file}:${statements[start]?.line ?? '?'}) opened and nothing commits. It was rolled back, as the database's client would at the end of the file, and the task is not recorded as applied. Add the COMMIT the file is missing, then run again: it resumes at statement ${start + 1}.`,
            { context: { task: task.id, file, statement: start + 1, line: statements[start]?.line } },
          ),
          { kind: 'in-unit' },
          undefined,
        );
      }
      // The state store hears first: a crash between the two leaves both saying "all done".
      await mirror(snapshot(statements.length));
      if (row) {
        await row.remove();
        if (!tracker.autocommit) await session.query('COMMIT');
      }
    } finally {
      tracking?.end();
    }

    function follow(statement: Statement, c: StatementClass): void {
      if (dialect !== 'mysql') return;
      for (const name of assignedUserVariables(statement.sql)) userVariables.add(name);
      for (const name of assignedSessionVariables(statement.sql)) sessionVariables.add(name);
      if (c.keyword === 'LOCK' || /^\s*\/\*!\d*\s*LOCK\s+TABLES/i.test(statement.sql)) locks = statement.sql;
      if (c.keyword === 'UNLOCK' || /^\s*\/\*!\d*\s*UNLOCK\s+TABLES/i.test(statement.sql)) locks = undefined;
      const created = TEMPORARY.exec(statement.sql);
      if (created?.[1]) {
        const name = created[1].replace(/[`"]/g, '');
        temporary.set(name, `the temporary table ${name} (created at ${file}:${statement.line})`);
      }
      const prepared = PREPARE.exec(statement.sql);
      if (prepared?.[1]) {
        temporary.set(
          `prepare:${prepared[1]}`,
          `the prepared statement ${prepared[1]} (${file}:${statement.line})`,
        );
      }
      const deallocated = DEALLOCATE.exec(statement.sql);
      if (deallocated?.[1]) temporary.delete(`prepare:${deallocated[1]}`);
      const dropped = DROP_TABLE.exec(statement.sql);
      if (dropped?.[1])
        for (const name of dropped[1].split(',')) temporary.delete(name.trim().replace(/[`"]/g, ''));
    }
    async function syncTracker(k: number): Promise<void> {
      const [state] = (await session.query('SELECT @@autocommit AS a, @@in_transaction AS t')) as Array<{
        a: number | string;
        t: number | string;
      }>;
      tracker.autocommit = Number(state?.a) === 1;
      // Work the statement left open belongs to a unit that starts with it: a failure re-runs it.
      if (Number(state?.t) === 1) tracker.unitStart ??= k;
    }
    function needsCapture(c: StatementClass, statement: Statement): boolean {
      if (dialect === 'clickhouse') return c.keyword === 'USE' || c.keyword === 'SET';
      if (!knexTarget) return false;
      return (
        c.changesSession ||
        c.keyword === 'USE' ||
        c.transactionControl === 'autocommit-off' ||
        c.transactionControl === 'autocommit-on' ||
        // SET LOCAL (and a SET a ROLLBACK undoes) ends with the transaction.
        c.transactionControl === 'commit' ||
        c.transactionControl === 'rollback' ||
        c.transactionControl === 'rollback-to' ||
        assignedUserVariables(statement.sql).length > 0 ||
        /LOCK\s+TABLES|TEMPORARY/i.test(statement.sql) ||
        // Dropping the current database leaves the session without one.
        /^\s*DROP\s+(DATABASE|SCHEMA)\b/i.test(statement.sql)
      );
    }
    async function captureNow(): Promise<SessionState> {
      const [what] = [...temporary.values()];
      return capture(
        session,
        base,
        userVariables,
        locks,
        what ? `${what} is gone with the old session` : undefined,
        sessionVariables,
      );
    }
  } finally {
    await session.close(ctx.signal.aborted);
    await (side as { session: TaskSession } | undefined)?.session.close();
  }
}

/** The newer of the target's copy (exact for committed work) and the state store's (an operator's decision wins). */
/**
 * The target's copy commits with the work, so it is the truth about what committed; the state
 * store's copy can be ahead of it (written, then the commit never came) or behind it (copied at
 * most once a second). The state store's wins only when it carries an operator's decision, which
 * is taken once and then written to the target.
 */
function pickProgress(
  stored: StatementProgress | undefined,
  mirrored: StatementProgress | undefined,
): StatementProgress {
  if (mirrored?.decided) return mirrored;
  return stored ?? mirrored ?? { next: 0, seq: 0 };
}

function inDoubt(
  task: Task,
  file: string,
  statements: readonly Statement[],
  k: number,
  dialect: SqlDialect,
  evidence?: string,
) {
  const engine =
    dialect === 'clickhouse'
      ? 'ClickHouse'
      : dialect === 'postgres'
        ? 'PostgreSQL (outside a transaction block)'
        : 'MySQL/MariaDB';
  return new UpgradeKitError(
    ErrorCodes.IN_DOUBT,
    // The first line is the headline that logs and summaries show; the rest is said once, with
    // the commands that settle it.
    `Task ${task.id}: statement ${k + 1} of ${statements.length} (${file}:${statements[k]?.line ?? '?'}) was running when the upgrade was interrupted and may or may not have taken effect.\n${engine} commits it on its own, so nothing rolled it back${evidence ? `, and the catalog cannot tell (${evidence})` : ''}. Check it, then resolve the task: "applied" continues with statement ${k + 2}, "retry" runs statement ${k + 1} again.`,
    {
      context: {
        task: task.id,
        statement: k + 1,
        file,
        line: statements[k]?.line,
        decisions: ['applied', 'retry'],
      },
    },
  );
}

function edited(
  task: Task,
  file: string,
  statements: readonly Statement[],
  next: number,
  changed: { from: number; to: number },
) {
  const where = (k: number) => `statement ${k + 1} (${file}:${statements[k]?.line ?? '?'})`;
  const which =
    changed.from === changed.to
      ? where(changed.from)
      : `one of statements ${changed.from + 1}–${changed.to + 1} (from ${file}:${statements[changed.from]?.line ?? '?'})`;
  return new UpgradeKitError(
    ErrorCodes.IN_DOUBT,
    `Task ${task.id}: ${file} changed before the point where it stopped (statement ${next + 1}): ${which} is not what ran. Nothing was run.\nIf you restored or cleaned up, resolve the task to start the file again ("restart"), or to continue at a statement you name ("from statement N").`,
    {
      context: {
        task: task.id,
        file,
        statement: changed.from + 1,
        line: statements[changed.from]?.line,
        next: next + 1,
        decisions: ['restart', 'from'],
      },
    },
  );
}

/** Marked `started` before it runs: it commits by itself, so a crash while it runs leaves it in doubt. */
function commitsOnItsOwn(plan: StatementPlan): boolean {
  return plan.kind === 'commits-before' && !('opensUnit' in plan && plan.opensUnit);
}

function opaqueStatement(statement: Statement, c: StatementClass, dialect: SqlDialect): boolean {
  if (dialect === 'postgres') return c.keyword === 'CALL' || c.keyword === 'DO';
  if (dialect !== 'mysql') return false;
  return (
    c.keyword === 'EXECUTE' ||
    c.keyword === 'CALL' ||
    /^\s*BEGIN\s+NOT\s+ATOMIC\b/i.test(statement.sql) ||
    /\bautocommit\s*:?=\s*[@(]/i.test(statement.sql)
  );
}
