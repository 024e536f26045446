import type { Knex } from 'knex';
import type { StepContext } from '../model/index.js';
import { stateAccess } from '../stages/internal.js';
import {
  BETWEEN_STATEMENTS,
  NotSent,
  statementAtStake,
  statementInDoubt,
  statementsStopped,
} from './cancel.js';
import { type ServerMark, serverMark } from './in-doubt/index.js';
import { chainOf, parseProgress, type StatementProgress } from './progress.js';
import { ensureProgressTable, ProgressRow } from './progress-table.js';
import { ProgressWriter } from './progress-writer.js';
import { pickProgress, refuseResume, settleStarted } from './resume-point.js';
import { isKnex, openSession } from './session.js';
import { SessionFollower } from './session-follow.js';
import { type Baseline, baseline, restore, type SessionState } from './session-state.js';
import type { StatementClass } from './split.js';
import { unterminated } from './statement-errors.js';
import { cancelSettles, commitsOnItsOwn, opaqueStatement, whyInDoubt } from './statement-risk.js';
import type { TaskFile } from './task-file.js';
import { type StatementPlan, UnitTracker } from './units.js';

export interface StatementsInput extends TaskFile {
  readonly classes: readonly StatementClass[];
  /** A statement an interrupted run left running on the server is cancelled instead of awaited. */
  readonly killInDoubt?: boolean;
}

/**
 * Runs a file statement by statement on its own session, as the database's client would, with the
 * transactions the file declares: work counts as done only when it is committed, and the progress
 * that says so commits in the same transaction (see {@link ProgressRow}). A failure resumes at the
 * first statement of the unit it interrupted, in a session rebuilt by value (database, variables,
 * user variables, locks); a file edited before its resume point is refused, naming the statement.
 */
export async function runStatements(ctx: StepContext, input: StatementsInput): Promise<void> {
  const { file, dialect, statements, classes } = input;
  // SQLite holding the state in the same file has one writer: share the pool's connection.
  const shared = input.dialect === 'sqlite' && input.connection === stateAccess(ctx)?.knex;
  const session = await openSession(input.connection, { shared });
  const knexTarget = isKnex(input.connection) ? input.connection : undefined;
  let writer: ProgressWriter | undefined;
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
    const follower = new SessionFollower(dialect, file, progress.session);
    const locked = () => dialect === 'mysql' && follower.locks !== undefined && row !== undefined;
    const w = new ProgressWriter(
      ctx,
      input.connection,
      input.key,
      row,
      Math.max(stored?.seq ?? 0, mirrored?.seq ?? 0),
      locked,
    );
    writer = w;
    if (progress.decided) {
      // An operator's decision, taken now: it becomes the target's copy, and is not taken twice.
      const { decided: _taken, ...rest } = progress;
      progress = { ...rest, seq: w.nextSeq() };
      await row?.write(progress);
      await w.mirror(progress);
    }
    await refuseResume(input, progress, (p) => w.mirror(p));

    const base: Baseline = knexTarget || dialect === 'clickhouse' ? await baseline(session) : {};
    // Saved with every `started` mark: a resume asks this server whether the statement still runs.
    const mark = await serverMark(session).catch(() => undefined);
    const ranOn: { server?: ServerMark } = mark ? { server: mark } : {};
    let sessionNow: SessionState | undefined = progress.session;
    if (progress.session) await restore(session, progress.session, progress.autocommit ?? true);
    if (progress.started !== undefined) {
      const started = progress as StatementProgress & { started: number };
      progress = {
        ...(await settleStarted(ctx, session, input, started, (p) => w.mirror(p))),
        seq: w.nextSeq(),
      };
      await row?.write(progress);
      await w.mirror(progress);
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
      seq: w.nextSeq(),
    });
    const captureNow = () => follower.capture(session, base);
    /** A cancelled statement that commits on its own and whose outcome no answer settles. */
    const stillInDoubt = (k: number, error: unknown) =>
      statementInDoubt(place, k, dialect, whyInDoubt(statements[k]!, classes[k]!, dialect, error));
    const settles = (k: number, error: unknown) => cancelSettles(statements[k]!, classes[k]!, dialect, error);
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
      if (cancelled && sent && commitsOnItsOwn(plan) && !settles(k, error)) throw stillInDoubt(k, error);
      if (knexTarget) await session.query('ROLLBACK').catch(() => {});
      let resumeAt = unitStart ?? k;
      if (plan.kind === 'commits-before' && unitStart !== undefined && row) {
        const now = parseProgress(await (await w.current())?.read().catch(() => undefined));
        if (now?.started === k) resumeAt = k;
      }
      if (resumeAt !== k || plan.kind === 'in-unit') {
        sessionNow = sessionAtUnit;
        tracker.autocommit = autocommitAtUnit;
      }
      tracker.unitStart = undefined;
      tracker.inTransaction = false;
      const mark = cancelled || failed === undefined ? {} : { failed };
      await w.alone(snapshot(resumeAt, mark), session, tracker.autocommit).catch(() => {});
      if (cancelled) throw statementsStopped(place, resumeAt, k, sent);
      throw error;
    };

    const place = { task: input.task, file, statements };
    const tracking = await input.track(ctx, progress.next);
    try {
      for (let k = progress.next; k < statements.length; k++) {
        // Cancelled between statements: what is committed stays, an open unit rolls back.
        if (ctx.signal.aborted) await fail(k, new NotSent('the run was cancelled'), { kind: 'alone' });
        const statement = statements[k]!;
        const c = classes[k]!;
        // What the classifier cannot see into runs unwrapped, marked, and the server says
        // afterwards whether a transaction is open.
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
            await (await w.sideRow()).write(before);
            await w.mirror(before);
          }
          ctx.inFlight?.(statementAtStake(place, k, commits, dialect));
          try {
            result = await input.execute(ctx, session, statement);
          } catch (error) {
            const cancelled = ctx.signal.aborted;
            const sent = !(error instanceof NotSent);
            if (cancelled && sent && commits && !settles(k, error)) throw stillInDoubt(k, error);
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
            await (await w.sideRow()).write(after).catch(() => {});
            await w.mirror(after).catch(() => {});
            if (cancelled) throw statementsStopped(place, resumeAt, k, sent);
            throw error;
          }
          tracker.ran(k, c, plan);
          follower.follow(statement, c);
          if (follower.needsCapture(c, statement, knexTarget !== undefined)) sessionNow = await captureNow();
          if (tracker.unitStart === undefined) {
            const after = snapshot(k + 1);
            await (locked() ? await w.sideRow() : row!).write(after);
            if (!locked() && !tracker.autocommit) await session.query('COMMIT');
            await w.mirror(after);
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
              await w.inside({
                ...snapshot(k + 1),
                ...(c.transactionControl === 'autocommit-on' ? { autocommit: true } : {}),
              });
              result = await input.execute(ctx, session, statement);
              break;
            case 'commits-before':
              if ('opensUnit' in plan && plan.opensUnit) {
                // MySQL's BEGIN inside a transaction commits it, progress included, and starts the
                // next unit: nothing of its own can be in doubt.
                await w.inside(snapshot(k));
              } else {
                // Marked before it runs: a crash now leaves exactly this statement in doubt.
                const mark = snapshot(k, { started: k, ...ranOn });
                if (row) await row.write(mark);
                await w.mirror(mark);
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
        follower.follow(statement, c);
        if (follower.needsCapture(c, statement, knexTarget !== undefined) || opaque)
          sessionNow = await captureNow();
        switch (plan.kind) {
          case 'alone': {
            const after = snapshot(k + 1);
            if (row) {
              await row.write(after);
              await session.query('COMMIT');
            }
            await w.mirrorSoon(after);
            break;
          }
          case 'commits-before':
          case 'rolls-back-unit':
          case 'session':
            if (tracker.unitStart === undefined) await w.alone(snapshot(k + 1), session, tracker.autocommit);
            break;
          case 'commits-unit':
            // Committed now: the state store may hear of it.
            await w.mirrorSoon(snapshot(k + 1));
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
        await fail(tracker.unitStart, unterminated(place, tracker.unitStart), { kind: 'in-unit' }, undefined);
      }
      // The state store hears first: a crash between the two leaves both saying "all done".
      await w.mirror(snapshot(statements.length));
      if (row) {
        await row.remove();
        if (!tracker.autocommit) await session.query('COMMIT');
      }
    } finally {
      tracking?.end();
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
  } finally {
    await session.close(ctx.signal.aborted);
    await writer?.close();
  }
}
