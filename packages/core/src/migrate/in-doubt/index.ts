import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../model/index.js';
import type { TaskSession } from '../session.js';
import type { SqlDialect, Statement } from '../split/types.js';
import { settleByEvidence, type Verdict } from './evidence.js';
import { cancelRunning, clickhouseLogVerdict, type ServerMark, stillRunning } from './server.js';
import { statementShape } from './shape.js';

export type { Verdict } from './evidence.js';
export { type ServerMark, serverMark } from './server.js';
export { type Shape, statementShape } from './shape.js';

export interface SettleInput {
  readonly session: TaskSession;
  readonly dialect: SqlDialect;
  readonly statement: Statement;
  /** Where the statement ran, when the runner knew it. */
  readonly mark: ServerMark | undefined;
  /** `--kill-in-doubt`: cancel it on the server instead of waiting for it to end. */
  readonly kill: boolean;
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** "statement 3 of 10 (file.sql:12)". */
  readonly where: string;
  readonly pollMs?: number;
}

export interface Settlement extends Verdict {
  /** How long the resume waited for the old statement to end on the server, ms (0: it had ended). */
  readonly waitedMs: number;
  readonly cancelled: boolean;
}

/**
 * Settles a statement an interrupted run left in doubt: first waits while the old statement is
 * still running on its server (or cancels it, when asked), then decides from the catalog. Waiting
 * is bounded by the step's own timeout (`signal`).
 */
export async function settleInDoubt(input: SettleInput): Promise<Settlement> {
  const { session, mark, log } = input;
  const started = performance.now();
  let cancelled = false;
  let sawRunning = false;
  let toldAt = -Infinity;
  if (mark) {
    for (;;) {
      const runningMs = await stillRunning(session, mark);
      if (runningMs === undefined) break;
      sawRunning = true;
      const now = performance.now();
      if (now - toldAt >= 30_000) {
        log.warn(
          `${input.where} is still running on the server (connection ${mark.conn} of ${mark.server}, for ${Math.round(runningMs / 1000)} s), although the run that sent it is gone: ${input.kill && !cancelled ? 'cancelling it (--kill-in-doubt)' : 'waiting for it to end before deciding (--kill-in-doubt cancels it)'}`,
        );
        toldAt = now;
      }
      if (input.kill && !cancelled) {
        await cancelRunning(session, mark);
        cancelled = true;
      }
      await sleep(input.pollMs ?? 500, undefined, { signal: input.signal });
    }
  }
  const logged = mark ? await clickhouseLogVerdict(session, mark, input.statement.sql) : undefined;
  if (logged)
    return { ...logged, waitedMs: sawRunning ? Math.round(performance.now() - started) : 0, cancelled };
  const verdict = await settleByEvidence(
    statementShape(input.statement.sql, input.dialect),
    session,
    input.dialect,
  );
  return { ...verdict, waitedMs: sawRunning ? Math.round(performance.now() - started) : 0, cancelled };
}
