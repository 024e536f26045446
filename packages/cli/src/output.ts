// How the CLI speaks: one JSON document on stdout with --json, plain text otherwise; notes, logs
// and events always on stderr; the exit code is the contract of DESIGN §4.
import type { CommandResult, ExitClass } from '@upgradekit/core';

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

const EXIT_OF: Record<ExitClass, ExitCode> = {
  ok: Exit.ok,
  failed: Exit.failed,
  'bad-input': Exit.badInput,
  decision: Exit.decision,
  interrupted: Exit.interrupted,
  terminated: Exit.terminated,
};

export interface GlobalFlags {
  readonly json?: boolean;
  readonly config?: string;
  readonly yes?: boolean;
  readonly verbose?: boolean;
}

/** An error the CLI itself raises about its input; exits 2 with the message alone. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly code = 'UPGRADEKIT_BAD_INPUT';
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

  /** The human report (stdout); nothing under --json, where the document is the only stdout. */
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
    if (this.json) this.#stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A command's result: the document or the text, its notes, and the exit code of its class. */
  result(result: CommandResult, verbose = false): ExitCode {
    if (this.json) this.document(result.document);
    else if (result.text.length > 0) this.text(result.text);
    if (result.notes.length > 0) this.note(result.notes.join('\n'));
    if (verbose) for (const line of result.details) this.note(line);
    return EXIT_OF[result.exitClass];
  }
}
