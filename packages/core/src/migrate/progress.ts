import { createHash } from 'node:crypto';
import type { ServerMark } from './in-doubt/server.js';
import { statementShape } from './in-doubt/shape.js';
import type { SessionState } from './session-state.js';
import type { SqlDialect, Statement } from './split.js';

/**
 * Where a statement-by-statement task stands, as saved after each commit. The runner owns this
 * format; the engine only stores it and asks the step's `resolveProgress`/`describeProgress` hooks.
 */
export interface StatementProgress {
  /** Statements before this one are committed (0-based). */
  readonly next: number;
  /** Set while a statement that commits on its own runs: if a crash leaves it set, it is in doubt. */
  readonly started?: number;
  /** The server and connection the `started` statement runs on: is it still running? */
  readonly server?: ServerMark;
  /** The statement the last attempt failed at, when it failed (for `resolve --applied`). */
  readonly failed?: number;
  /** Statements an operator declared applied: a resume does not run them. */
  readonly skip?: readonly number[];
  /** Prefix-hash checkpoints of the statements before `next`: an edited applied prefix is refused. */
  readonly chain?: ChainCheckpoints;
  /** The session as of `next`, to rebuild before it. */
  readonly session?: SessionState;
  /** Autocommit as of `next` (MySQL). */
  readonly autocommit?: boolean;
  /** Grows with every write; the higher of two copies (target table, state store) is the newer. */
  readonly seq: number;
  /** Set by an operator's decision: it wins over the target's copy of the same or a lower seq. */
  readonly decided?: boolean;
}

export interface ChainCheckpoints {
  /** Checkpoint i covers statements [0, (i + 1) × every), and the last one [0, next). */
  readonly every: number;
  /** 16 hex characters of each checkpoint's sha256 chain. */
  readonly hashes: readonly string[];
}

// At most this many checkpoints: the saved progress stays a few KB whatever the file's size.
const MAX_CHECKPOINTS = 256;

export function parseProgress(text: string | undefined): StatementProgress | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<StatementProgress>;
    if (typeof value.next !== 'number') return undefined;
    return { ...value, next: value.next, seq: typeof value.seq === 'number' ? value.seq : 0 };
  } catch {
    return undefined;
  }
}

/** The chain checkpoints of statements [0, next). */
export function chainOf(statements: readonly Statement[], next: number): ChainCheckpoints {
  return chainer(statements)(next);
}

const prefixes = new WeakMap<readonly Statement[], string[]>();

/**
 * Checkpoints for any `next` of one file, from prefix hashes computed once per file (saving after
 * every statement must not rehash the whole prefix each time: that was quadratic).
 */
export function chainer(statements: readonly Statement[]): (next: number) => ChainCheckpoints {
  let prefix = prefixes.get(statements);
  if (!prefix) {
    prefix = [];
    let chain = '';
    for (const statement of statements) {
      chain = createHash('sha256')
        .update(chain)
        .update('\u0000')
        .update(statement.sql)
        .update('\u0000')
        .update(statement.copyData ?? '')
        .digest('hex');
      prefix.push(chain.slice(0, 16));
    }
    prefixes.set(statements, prefix);
  }
  const hashes = prefix;
  return (next) => {
    const every = Math.max(1, Math.ceil(next / MAX_CHECKPOINTS));
    const out: string[] = [];
    for (let k = every - 1; k < next; k += every) out.push(hashes[k] ?? '');
    if (next > 0 && next % every !== 0) out.push(hashes[next - 1] ?? '');
    return { every, hashes: out };
  };
}

/**
 * Compares the applied prefix with the file as it is now. Undefined when it is unchanged; else the
 * range in which the first changed statement lies (exact when checkpoints are one statement apart).
 */
export function firstChange(
  saved: ChainCheckpoints,
  statements: readonly Statement[],
  next: number,
): { from: number; to: number } | undefined {
  if (next > statements.length) return { from: statements.length, to: statements.length };
  const now = chainOf(statements, next);
  if (now.every !== saved.every) {
    // Same `next` gives the same spacing; a different one means the file lost statements.
    return now.hashes.join() === saved.hashes.join() ? undefined : { from: 0, to: next - 1 };
  }
  for (let i = 0; i < saved.hashes.length; i++) {
    if (now.hashes[i] !== saved.hashes[i]) {
      return { from: i * saved.every, to: Math.min(next, (i + 1) * saved.every) - 1 };
    }
  }
  return undefined;
}

export type ResolveKind = 'applied' | 'retry' | 'restart' | 'from';

/**
 * An operator's decision about a task's saved progress: `applied` continues after the failed or
 * in-doubt statement (never skipping later ones), `retry` runs it again, `restart` starts from
 * statement 1 (for a human who restored or cleaned up), `from` continues at statement N (1-based).
 */
export function resolveStatementProgress(
  progress: StatementProgress | undefined,
  decision: { kind: ResolveKind; position?: number },
  statements: readonly Statement[],
  file: string,
): { progress: StatementProgress | undefined; done: boolean; message: string } {
  const seq = (progress?.seq ?? 0) + 1;
  const at = (k: number) =>
    k >= statements.length
      ? `all ${statements.length} statements are done`
      : `statement ${k + 1} of ${statements.length} (${file}:${statements[k]?.line ?? '?'}) runs next`;
  if (decision.kind === 'restart' || !progress) {
    if (decision.kind === 'applied' && !progress) {
      return { progress: undefined, done: true, message: 'recorded as applied: it will not run again' };
    }
    return {
      progress: { next: 0, seq, decided: true },
      done: false,
      message: `saved progress dropped: ${at(0)}, in a fresh session`,
    };
  }
  if (decision.kind === 'from') {
    const k = Math.max(0, (decision.position ?? 1) - 1);
    return {
      progress: { next: k, seq, decided: true },
      done: false,
      message: `${at(k)}, in a fresh session (the saved session is dropped)`,
    };
  }
  const { started, failed, ...rest } = progress;
  const subject = started ?? failed;
  if (decision.kind === 'retry') {
    const skip = (progress.skip ?? []).filter((k) => k !== subject);
    // A statement that commits on its own runs again; an in-doubt COMMIT reruns its whole unit.
    const next = progress.next;
    return {
      progress: { ...rest, next, seq, decided: true, ...(skip.length ? { skip } : { skip: [] }) },
      done: false,
      message: subject === undefined ? at(next) : `statement ${subject + 1} runs again; ${at(next)}`,
    };
  }
  // applied
  if (subject === undefined) {
    return {
      progress: { ...rest, seq, decided: true },
      done: false,
      message: `nothing failed or in doubt; ${at(progress.next)}`,
    };
  }
  if (started !== undefined) {
    // A statement that commits on its own: it is done, continue after it.
    return {
      progress: { ...rest, next: started + 1, seq, decided: true },
      done: false,
      message: `statement ${started + 1} recorded as applied; ${at(started + 1)}`,
    };
  }
  // A failed statement inside a transaction: the unit before it was rolled back and runs again,
  // without this one.
  const skip = [...new Set([...(progress.skip ?? []), subject])].sort((a, b) => a - b);
  return {
    progress: { ...rest, skip, seq, decided: true },
    done: false,
    message: `statement ${subject + 1} recorded as applied (it will be skipped); ${at(progress.next)}`,
  };
}

/** One line for `status` and dry runs. */
export function describeStatementProgress(
  progress: StatementProgress | undefined,
  statements: readonly Statement[],
  file: string,
): string | undefined {
  if (!progress) return undefined;
  const line = (k: number) => `${file}:${statements[k]?.line ?? '?'}`;
  if (progress.started !== undefined) {
    return `statement ${progress.started + 1} of ${statements.length} (${line(progress.started)}) in doubt`;
  }
  if (progress.next >= statements.length) return `all ${statements.length} statements done`;
  return `statement ${progress.next + 1} of ${statements.length} (${line(progress.next)}) next${progress.failed !== undefined ? `; statement ${progress.failed + 1} failed` : ''}`;
}

/**
 * The statement a crash left in doubt (marked `started`: it commits on its own, so a crash while it
 * ran may or may not have applied it), for the resume decision; undefined when there is none.
 */
export function statementInDoubt(
  progress: StatementProgress | undefined,
  statements: readonly Statement[],
  file: string,
  dialect: SqlDialect,
): string | undefined {
  if (progress?.started === undefined) return undefined;
  const k = progress.started;
  // What the catalog can settle, the next run settles by itself (in-doubt/): nobody need decide.
  const statement = statements[k];
  if (statement && statementShape(statement.sql, dialect).kind !== 'unknown') return undefined;
  return `statement ${k + 1} of ${statements.length} (${file}:${statements[k]?.line ?? '?'}), which commits on its own, was running`;
}
