// How the CLI speaks: one JSON document on stdout with --json, plain text otherwise; logs and
// events always on stderr; the exit code is the contract of DESIGN §4.

/** Exit codes: tools and CI steps branch on these. */
export const Exit = {
  ok: 0,
  failed: 1,
  badInput: 2,
  /** An operator must decide: a step in doubt, a confirmation. */
  decision: 3,
  /** Stopped by SIGINT (Ctrl-C) / SIGTERM: 128 + the signal's number, as a shell reports it. */
  interrupted: 130,
  terminated: 143,
} as const;
export type ExitCode = (typeof Exit)[keyof typeof Exit];

export interface GlobalFlags {
  readonly json?: boolean;
  readonly config?: string;
  readonly yes?: boolean;
  readonly verbose?: boolean;
}

/** An error the CLI itself raises about its input; exits 2 with the message alone. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export class Output {
  readonly json: boolean;
  readonly #stdout: NodeJS.WritableStream;
  readonly #stderr: NodeJS.WritableStream;

  constructor(flags: GlobalFlags, stdout: NodeJS.WritableStream = process.stdout, stderr = process.stderr) {
    this.json = Boolean(flags.json);
    this.#stdout = stdout;
    this.#stderr = stderr;
  }

  /** The human report (stdout); nothing under --json, where `document` is the only stdout. */
  text(lines: string | readonly string[]): void {
    if (this.json) return;
    this.#stdout.write(`${typeof lines === 'string' ? lines : lines.join('\n')}\n`);
  }

  /** A note to the operator that is not the result (stderr, both modes). */
  note(line: string): void {
    this.#stderr.write(`${line}\n`);
  }

  /** The one JSON document of a --json run. */
  document(value: unknown): void {
    if (this.json) this.#stdout.write(`${JSON.stringify(value, jsonSafe, 2)}\n`);
  }
}

/** Errors become their operator-facing parts; never a stack in a document. */
export function jsonSafe(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown; context?: unknown };
    return {
      name: e.name,
      ...(e.code !== undefined ? { code: e.code } : {}),
      message: e.message,
      ...(e.context !== undefined ? { context: e.context } : {}),
    };
  }
  return value;
}

// A backup that fails verification is refused before anything is touched: the operator picks another.
const BAD_INPUT_CODES = new Set([
  'UPGRADEKIT_BAD_INPUT',
  'UPGRADEKIT_BAD_VERSION',
  'UPGRADEKIT_BACKUP_INVALID',
]);
const DECISION_CODES = new Set(['UPGRADEKIT_IN_DOUBT']);

/** The exit code for a thrown error. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof UsageError) return Exit.badInput;
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && BAD_INPUT_CODES.has(code)) return Exit.badInput;
  if (typeof code === 'string' && DECISION_CODES.has(code)) return Exit.decision;
  return Exit.failed;
}

/** Reports a thrown error the way the operator needs it, and returns the exit code. */
export function reportError(out: Output, error: unknown, verbose = false): ExitCode {
  const exit = exitCodeOf(error);
  const e = error as Error & { code?: string };
  out.document({ ok: false, exitCode: exit, error });
  const head = e?.code ? `${e.code}: ` : '';
  out.note(`upgradekit: ${head}${e?.message ?? String(error)}`);
  if (verbose && e?.stack) out.note(e.stack);
  else if (exit === Exit.failed && !e?.code) out.note('(run with --verbose for the stack trace)');
  return exit;
}
