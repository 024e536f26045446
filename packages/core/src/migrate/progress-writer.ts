import type { StepContext } from '../model/index.js';
import type { MarkerKey } from './marker.js';
import type { StatementProgress } from './progress.js';
import { ProgressRow } from './progress-table.js';
import { type Connection, openSession, type TaskSession } from './session.js';

/**
 * Where a statement-by-statement run writes its progress. The target's row, on the task's own
 * session, is the exact copy: it commits with the work. The state store's copy serves `status` and
 * settles doubt, so routine progress is copied there at most once a second — a started mark, a
 * failure and the end always are.
 *
 * While the file holds LOCK TABLES, its session may touch no other table: progress goes through
 * a second session, marked `started` before each statement and settled after it — a crash inside
 * the locked section leaves that one statement in doubt, as with DDL.
 */
export class ProgressWriter {
  #seq: number;
  #mirroredAt = 0;
  #side: { session: TaskSession; row: ProgressRow } | undefined;

  constructor(
    private readonly ctx: StepContext,
    private readonly connection: Connection,
    private readonly key: MarkerKey,
    /** The target's row; none where the target keeps no progress table (ClickHouse). */
    readonly row: ProgressRow | undefined,
    seq: number,
    /** Whether the file holds LOCK TABLES now. */
    private readonly locked: () => boolean,
  ) {
    this.#seq = seq;
  }

  /** The next sequence number: the newer of two copies is the one with the higher. */
  nextSeq(): number {
    return ++this.#seq;
  }

  /** To the state store, now. */
  mirror(p: StatementProgress): Promise<void> {
    return this.ctx.saveProgress(JSON.stringify(p));
  }

  /** To the state store, unless it heard less than a second ago and the target's row is exact. */
  async mirrorSoon(p: StatementProgress): Promise<void> {
    if (this.row && performance.now() - this.#mirroredAt < 1000) return;
    this.#mirroredAt = performance.now();
    await this.mirror(p);
  }

  /** The second session's row, opened when first needed. */
  async sideRow(): Promise<ProgressRow> {
    if (!this.#side) {
      const other = await openSession(this.connection);
      this.#side = { session: other, row: new ProgressRow(other, this.key) };
    }
    return this.#side.row;
  }

  /** The row progress goes through now: the second session's while the file holds its locks. */
  async current(): Promise<ProgressRow | undefined> {
    return this.locked() ? await this.sideRow() : this.row;
  }

  /** Written in the open transaction: copied to the state store only once that commits. */
  async inside(p: StatementProgress): Promise<void> {
    await (await this.current())?.write(p);
  }

  /** Progress written on its own, committed now (nothing of the file is open). */
  async alone(p: StatementProgress, session: TaskSession, autocommit: boolean): Promise<void> {
    if (this.row) {
      const through = await this.current();
      await through?.write(p);
      if (through === this.row && !autocommit) await session.query('COMMIT');
    }
    await this.mirror(p);
  }

  async close(): Promise<void> {
    await this.#side?.session.close();
  }
}
